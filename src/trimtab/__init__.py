"""trimtab: rebalancing and trade generation for wealth managers.

The pure engine lives in :mod:`trimtab.core`; file formats in :mod:`trimtab.io`;
the command line in :mod:`trimtab.cli`.
"""

__version__ = "0.1.0"
