"""`python -m mailsettings_desktop` starts the program."""

import sys

from mailsettings_desktop.app import main

sys.exit(main())
