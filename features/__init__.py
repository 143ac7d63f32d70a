"""Point-in-time features and labels for churn prediction: pure logic, no file I/O.

`features.build` holds the expressions (and loads ibis); `features.registry` holds the feature names and
their words, and loads nothing else, so training and scoring can read it without ibis.
"""
