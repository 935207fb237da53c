"""The web studio: record, annotate, train and test custom classifiers in a browser (``actkit studio``)."""
