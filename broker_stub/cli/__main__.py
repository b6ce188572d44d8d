"""`python -m broker_stub.cli`: the same as `rubicon-broker`."""

import sys

from broker_stub.cli.entry import main

sys.exit(main())
