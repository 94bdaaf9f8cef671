"""Reading images and data folders (labels.csv, class folders, ISIC layouts), augmentation, splits by lesion
or patient, several sources in one run, and the checks a folder gets before training. No Keras at import
except augment."""
