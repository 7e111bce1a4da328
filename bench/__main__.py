"""`python -m bench [NAME...] [--quick] [--list] [--out DIR]`."""
import sys

from bench.harness import main

if __name__ == "__main__":
    sys.exit(main())
