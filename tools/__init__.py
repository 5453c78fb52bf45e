"""What only development and CI run, kept out of the runtime package the image carries."""
