"""A tiny package for the code-atlas watcher to index."""
