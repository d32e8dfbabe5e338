package risk

import "time"

// Windows are the horizons of every sliding count and sum: 1 minute, 1 hour, 24 hours and 30
// days.
const (
	W1m  = 0
	W1h  = 1
	W24h = 2
	W30d = 3
)

// horizon is one window's layout: n buckets of width each, so the window spans n×width and a
// sum over it is exact to one bucket (it covers between (n-1)×width and n×width back).
type horizon struct {
	width time.Duration
	n     int
}

var horizons = [4]horizon{
	{10 * time.Second, 6}, // 1 minute: 50 to 60 s back
	{10 * time.Minute, 6}, // 1 hour: 50 to 60 min back
	{2 * time.Hour, 12},   // 24 hours: 22 to 24 h back
	{48 * time.Hour, 15},  // 30 days: 28 to 30 days back
}

// bucketsTotal is how many buckets a series keeps (6+6+12+15).
const bucketsTotal = 39

// bucket is one slot of a series: which bucket of its horizon it holds (the bucket number since
// the Unix epoch; a slot holding an older number is empty), the events counted and their sum.
type bucket struct {
	num   int32
	count uint32
	sum   int64
}

// series counts events and sums their amounts over the four windows: 39 buckets, 624 bytes.
// Not safe for concurrent use: its owner's lock guards it.
type series struct {
	b [bucketsTotal]bucket
}

func offset(h int) int {
	o := 0
	for i := 0; i < h; i++ {
		o += horizons[i].n
	}
	return o
}

var offsets = [4]int{offset(0), offset(1), offset(2), offset(3)}

func bucketNum(at time.Time, width time.Duration) int32 {
	return int32(at.Unix() / int64(width/time.Second))
}

// add counts one event of amount at time at.
func (s *series) add(at time.Time, amount int64) {
	for h, hz := range horizons {
		num := bucketNum(at, hz.width)
		slot := &s.b[offsets[h]+int(num)%hz.n]
		if slot.num != num {
			*slot = bucket{num: num}
		}
		slot.count++
		slot.sum += amount
	}
}

// window returns the count and sum of the events in horizon h as of now.
func (s *series) window(h int, now time.Time) (count int64, sum int64) {
	hz := horizons[h]
	cur := bucketNum(now, hz.width)
	first := cur - int32(hz.n) + 1
	for i := 0; i < hz.n; i++ {
		b := s.b[offsets[h]+i]
		if b.num >= first && b.num <= cur && b.count > 0 {
			count += int64(b.count)
			sum += b.sum
		}
	}
	return count, sum
}

// idSet is a small set of keys seen with the time last seen, bounded: once full, the oldest is
// dropped, so distinct counts saturate at its capacity.
type idSet struct {
	ids []uint64
	at  []int64 // unix seconds
}

// add records key at time t; it reports whether key was new to the set.
func (s *idSet) add(key uint64, t time.Time, capacity int) bool {
	now := t.Unix()
	for i, k := range s.ids {
		if k == key {
			if now > s.at[i] {
				s.at[i] = now
			}
			return false
		}
	}
	if len(s.ids) < capacity {
		s.ids = append(s.ids, key)
		s.at = append(s.at, now)
		return true
	}
	oldest := 0
	for i := range s.at {
		if s.at[i] < s.at[oldest] {
			oldest = i
		}
	}
	s.ids[oldest], s.at[oldest] = key, now
	return true
}

func (s *idSet) has(key uint64) bool {
	for _, k := range s.ids {
		if k == key {
			return true
		}
	}
	return false
}

// since counts the keys seen at or after t.
func (s *idSet) since(t time.Time) int64 {
	from := t.Unix()
	var n int64
	for _, a := range s.at {
		if a >= from {
			n++
		}
	}
	return n
}
