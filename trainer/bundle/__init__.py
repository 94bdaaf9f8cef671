"""What a trained model is on disk and how the app combines several: the model card (ModelCard), card.json
and ensemble.json files, loading and exporting a bundle (io), the combination rule (EnsembleRule, combine).
Only io imports Keras: the app lists its models and reads its rules before TensorFlow is loaded."""
