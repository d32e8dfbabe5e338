package banksim

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Browser is a customer's web browser for the banks' login and consent pages: an HTTP client
// with a cookie jar that reads the pages' HTML forms and submits them, as a person would. Tests,
// the linking flow's end-to-end tests and the attack simulator use it to sign in as a customer
// through the real pages (the wallet never sees the password or the code). It does not follow
// redirects: a page that sends the browser back to the wallet is returned with Location set.
// A Browser is one person's browser; it is not safe for concurrent use.
type Browser struct {
	HTTP *http.Client
}

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &Browser{HTTP: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// Page is what the bank answered.
type Page struct {
	URL      *url.URL
	Status   int
	Name     string           // <main data-page>: "login", "code", "consent", "error"
	Error    string           // <main data-error>, e.g. "wrong_code", "locked" (pages.go lists them)
	Message  string           // the text of the page's error message, if any
	Forms    map[string]*Form // by id: "login", "code", "resend", "consent"
	Location *url.URL         // where a redirect (3xx) points; nil otherwise
	Body     string
}

// Form is an HTML form of a page.
type Form struct {
	ID     string
	Method string
	Action *url.URL
	// Fields are the values the form would send as it stands: hidden and text inputs, checked
	// radio buttons. Submit buttons are not included.
	Fields url.Values
	// Choices are the values each radio group offers (e.g. "account": the customer's accounts).
	Choices map[string][]string
	// Buttons are the submit buttons' name=value pairs (e.g. decision=allow, decision=deny).
	Buttons []url.Values
}

// PageError is the error of a page that does not let the customer go on (or of a page the
// browser did not expect).
type PageError struct {
	Page *Page
}

func (e *PageError) Error() string {
	return fmt.Sprintf("banksim: %s page (HTTP %d): %s %s", e.Page.Name, e.Page.Status, e.Page.Error, e.Page.Message)
}

// Get opens a URL.
func (b *Browser) Get(rawURL string) (*Page, error) {
	resp, err := b.HTTP.Get(rawURL)
	if err != nil {
		return nil, err
	}
	return readPage(resp)
}

// Submit sends form f with values set over its fields (set a submit button's name=value there
// too, e.g. "decision": "allow").
func (b *Browser) Submit(f *Form, values url.Values) (*Page, error) {
	if f == nil {
		return nil, errors.New("banksim: no such form on the page")
	}
	v := url.Values{}
	for k, x := range f.Fields {
		v[k] = append([]string(nil), x...)
	}
	for k, x := range values {
		v[k] = x
	}
	if !strings.EqualFold(f.Method, "post") {
		return nil, fmt.Errorf("banksim: form %s has method %q; the bank's pages post", f.ID, f.Method)
	}
	resp, err := b.HTTP.PostForm(f.Action.String(), v)
	if err != nil {
		return nil, err
	}
	return readPage(resp)
}

// SignIn is what a customer does on the bank's pages.
type SignIn struct {
	LoginID  string
	Password string
	// Code returns the one-time code when the code page asks for it: from the authenticator app
	// (TOTP) or from the bank's SMS outbox.
	Code func() (string, error)
	// Account is the account to consent for ("branch-number"); "" takes the first offered.
	Account string
	// Deny refuses consent instead of allowing it.
	Deny bool
}

// Authorize opens an authorization URL (…/authorize?client_id=…&request_uri=…), signs in,
// enters the one-time code and consents (or denies), and returns where the bank sends the
// browser back: the wallet's redirect URI with code, state and iss (or error=access_denied).
// A page that stops the customer (a wrong password or code, a lockout, an expired request_uri)
// is returned as a *PageError.
func (b *Browser) Authorize(authorizeURL string, in SignIn) (*url.URL, error) {
	p, err := b.Get(authorizeURL)
	if err != nil {
		return nil, err
	}
	if p, err = b.step(p, "login", url.Values{"login_id": {in.LoginID}, "password": {in.Password}}); err != nil {
		return nil, err
	}
	if p.Name != "code" {
		return nil, &PageError{p}
	}
	if in.Code == nil {
		return nil, errors.New("banksim: the bank asks for a one-time code and SignIn.Code is nil")
	}
	code, err := in.Code()
	if err != nil {
		return nil, err
	}
	if p, err = b.step(p, "code", url.Values{"code": {code}}); err != nil {
		return nil, err
	}
	if p.Name != "consent" {
		return nil, &PageError{p}
	}
	v := url.Values{"decision": {"allow"}}
	if in.Deny {
		v.Set("decision", "deny")
	}
	if in.Account != "" {
		v.Set("account", in.Account)
	}
	if p, err = b.step(p, "consent", v); err != nil {
		return nil, err
	}
	if p.Location == nil {
		return nil, &PageError{p}
	}
	return p.Location, nil
}

// step submits form id of page p, which must be the page of that name without an error.
func (b *Browser) step(p *Page, id string, v url.Values) (*Page, error) {
	f := p.Forms[id]
	if p.Name != id || p.Error != "" || f == nil {
		return nil, &PageError{p}
	}
	return b.Submit(f, v)
}

// readPage reads and parses an answer.
func readPage(resp *http.Response) (*Page, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	p := &Page{URL: resp.Request.URL, Status: resp.StatusCode, Body: string(body), Forms: map[string]*Form{}}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode/100 == 3 {
		if p.Location, err = resp.Request.URL.Parse(loc); err != nil {
			return nil, fmt.Errorf("banksim: bad Location %q: %w", loc, err)
		}
		return p, nil
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		return p, nil
	}
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		return nil, err
	}
	p.walk(doc, nil)
	return p, nil
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func text(n *html.Node) string {
	var b strings.Builder
	var f func(*html.Node)
	f = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			f(c)
		}
	}
	f(n)
	return strings.TrimSpace(b.String())
}

// walk collects the page's name, error, message and forms.
func (p *Page) walk(n *html.Node, form *Form) {
	if n.Type == html.ElementNode {
		class, _ := attr(n, "class")
		switch n.Data {
		case "main":
			p.Name, _ = attr(n, "data-page")
			p.Error, _ = attr(n, "data-error")
		case "p":
			if class == "error" && p.Message == "" {
				p.Message = text(n)
			}
		case "form":
			id, _ := attr(n, "id")
			method, _ := attr(n, "method")
			action, _ := attr(n, "action")
			u, err := p.URL.Parse(action)
			if err != nil {
				u = p.URL
			}
			form = &Form{ID: id, Method: method, Action: u, Fields: url.Values{}, Choices: map[string][]string{}}
			p.Forms[id] = form
		case "input":
			if form != nil {
				name, _ := attr(n, "name")
				value, _ := attr(n, "value")
				typ, _ := attr(n, "type")
				_, checked := attr(n, "checked")
				switch typ {
				case "radio", "checkbox":
					form.Choices[name] = append(form.Choices[name], value)
					if checked {
						form.Fields.Set(name, value)
					}
				case "submit":
					form.Buttons = append(form.Buttons, url.Values{name: {value}})
				default:
					if name != "" {
						form.Fields.Set(name, value)
					}
				}
			}
		case "button":
			if form != nil {
				name, _ := attr(n, "name")
				value, _ := attr(n, "value")
				if name != "" {
					form.Buttons = append(form.Buttons, url.Values{name: {value}})
				}
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		p.walk(c, form)
	}
}
