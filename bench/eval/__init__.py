"""The evaluation sets behind ``make eval``: CLARK-News, ECT-QA and TimeQA, all through REST.

``common`` holds what every set shares (ingest, asking, the answer scorers); each set's module
says only how it asks and how it scores. ``bench/eval_temporal_qa.py`` runs them.
"""
