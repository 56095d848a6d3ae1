"""The wire contract: marshmallow schemas for every request and response."""
