"""Start the restore web app: ``python app.py [--host H] [--port P] [--share] [--max-size-mb N] ...``.

A thin launcher: the app lives in :mod:`restore.app`, so that an installed package has it too
(``restore app``). ``python app.py --help`` lists the options.
"""

import sys

from restore.app import main

if __name__ == "__main__":
    sys.exit(main())
