from tests.authz import Case

# The matrix app has no TANDEM_METRICS_TOKEN, so /metrics does not exist for anyone; the
# token's own checks are in tests/test_observability.py.
CASES = [Case("GET", "/metrics", public=True, expect={"everyone": 404, "anonymous": 404})]
