"""The staff dashboard: one blueprint per resource, all under /admin."""
