"""The maths of explanations: exact SHAP values per model kind, the ensemble's combination,
the P(over) attribution, readable reasons and the quality score. No Django import."""
