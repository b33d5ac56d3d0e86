"""The dialect conformance suite: what every database must do identically.

A dialect proves itself by running these tests against a real database. In a
test module of your own::

    from drip.testing.conformance import *  # noqa: F403

and provide a ``drip_url`` fixture returning the URL of a database whose Drip
tables the suite may empty. Every behaviour here holds on every dialect; a
difference is a bug unless documented.
"""

from drip.testing.conformance.fixtures import *  # noqa: F403
from drip.testing.conformance.inserting import *  # noqa: F403
from drip.testing.conformance.maintaining import *  # noqa: F403
from drip.testing.conformance.operating import *  # noqa: F403
from drip.testing.conformance.running import *  # noqa: F403
