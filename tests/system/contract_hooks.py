"""Schemathesis hooks for test_contract (loaded through SCHEMATHESIS_HOOKS): the rules the document
states in words, where JSON Schema cannot say them, taught to the generator of valid requests.

- A page token is opaque (format `page-token`): a valid one is what a list handed out, or none.
  Generated as valid, it is left empty: the first page.
- A date in a request is a consent's end date (format `date`): valid from today (Europe/Amsterdam)
  to 9999-12-30.
"""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import schemathesis
from hypothesis import strategies

TODAY = datetime.now(ZoneInfo("Europe/Amsterdam")).date()

schemathesis.openapi.format("page-token", strategies.just(""))
# From tomorrow: a run that passes midnight still sends dates that are not past.
schemathesis.openapi.format("date", strategies.dates(TODAY + timedelta(days=1), date(9999, 12, 30)).map(date.isoformat))
