import sys

from introaws.cli.app import main

sys.exit(main())
