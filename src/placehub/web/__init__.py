"""The web layer: app factory, page routes, templates and static assets."""
