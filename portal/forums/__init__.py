"""Forums: categories, topics and posts — the one thread engine that ideas and events reuse for discussions."""
