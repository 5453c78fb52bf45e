"""The market feed's database: what it holds (`bars`), its store and its threaded reader."""
