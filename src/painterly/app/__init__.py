"""The applications over the library: the command line, the web page, experiments and benchmarks."""
