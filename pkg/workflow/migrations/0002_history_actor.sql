-- Who caused a history entry: an operator or agent for manual actions, empty for the system.
ALTER TABLE rb_workflow_history ADD COLUMN actor TEXT NOT NULL DEFAULT '';
