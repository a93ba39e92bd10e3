"""Contact-center voice agent."""
