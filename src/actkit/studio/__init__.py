"""The web studio (record, annotate, train, try): planned, see the issues."""
