"""Planning inside the learned model: mctx adapters, recurrent functions, action choice."""
