import sys

from xai.cli import main

sys.exit(main())
