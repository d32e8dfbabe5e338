-- emoney reconcile reads the link operations of a period (LinkOpsCreated).
CREATE INDEX link_ops_created ON link_ops (created_at) WHERE transfer_id IS NOT NULL;
