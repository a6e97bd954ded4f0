"""Layer 4: judging models. Metrics, full evaluation, the digit classifier behind the sample
scores, comparisons across models and the likelihood comparison's verdict."""
