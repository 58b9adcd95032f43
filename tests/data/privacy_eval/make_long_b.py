#!/usr/bin/env python3
"""Build the held-out long-content evaluation set ``long_b.jsonl``.

Rows are ~1,500-character chunks of real public project code and docs taken
from the installed package sources of the system Python (see SP below):

* 300 clean chunks  -- exact contiguous slices, cut at line boundaries, never
  filtered or edited by content (kind "long_clean", sensitive false).
* 300 inserted chunks -- other, non-overlapping slices with exactly one
  hand-written sensitive item inserted at a line boundary and shaped to fit
  its spot (kind "long_inserted", sensitive true).

The script only reads files of the allowed projects in SP, is fully seeded
(random.Random(2027)), writes long_b.jsonl and README-long_b.md next to itself
and validates its own output.  Run it with the same interpreter whose
site-packages it reads (CPython 3.11):

    /root/.pyenv/versions/3.11.7/bin/python tests/data/privacy_eval/make_long_b.py

This file was written independently of the detector, its training data and
the other evaluation sets; nothing here was tuned against the detector.
"""
from __future__ import annotations

import ast
import base64
import bisect
import glob
import hashlib
import io
import json
import math
import os
import random
import re
import sys
import textwrap
import tokenize
import warnings
from collections import Counter, defaultdict

SP = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_JSONL = os.path.join(HERE, "long_b.jsonl")
OUT_README = os.path.join(HERE, "README-long_b.md")
SEED = 2027
LO, HI = 1300, 1700
N_CLEAN = 300
N_INS = 300
MAX_PER_FILE = 4
DATA_TABLE_FRACTION = 0.5

# (package directory in SP, dist-info name prefix, which files are used)
PACKAGES = [
    ("click", "click"),
    ("cffi", "cffi"),
    ("blinker", "blinker"),
    ("cloudpickle", "cloudpickle"),
    ("IPython", "ipython"),
    ("aws_xray_sdk", "aws_xray_sdk"),
    ("cfnlint", "cfn_lint"),
    ("asttokens", "asttokens"),
]
PY_ONLY = {"cfnlint"}          # cfnlint: .py files only (no JSON/data docs)
DOC_EXT = (".md", ".rst", ".txt")

# ---------------------------------------------------------------------------
# Sensitive item pool (all values invented for this file; none are real).
# Forms: doc = prose / docstring sentence, cm = comment text (without "#"),
# py = Python statement(s), sh = shell line(s), cfg = YAML-ish config line(s).
# chk = values that must pass a checksum (validated at the end).
# ---------------------------------------------------------------------------
POOL: list[dict] = []


def _add(cat, doc, cm=None, py=None, sh=None, cfg=None, chk=()):
    POOL.append({"id": len(POOL), "cat": cat, "doc": doc, "cm": cm or doc,
                 "py": py, "sh": sh, "cfg": cfg, "chk": list(chk)})


def S(cat, key, val, doc, cm=None, py=None, sh=None, cfg=None, chk=()):
    """Key/value secret: derives default statement / shell / config forms."""
    _add(cat, doc, cm,
         py if py is not None else f'{key} = "{val}"',
         sh if sh is not None else f'export {key.upper()}="{val}"',
         cfg if cfg is not None else f'{key.lower()}: "{val}"', chk)


P = _add
A, C, F, ID, H, L = ("authentication", "contact", "financial", "identification",
                     "health", "location_network")
AP, DI, MC, AN = "account_profile", "device_incident", "media_content", "ancillary"

# ---- authentication ------------------------------------------------------
k = "sk-proj-dGpu6R02SSRM2nWkKcT2T3BlbkFJlS9bqwIcYeBY5pJJXsqS"
S(A, "OPENAI_API_KEY", k,
  f"The evaluation notebook reads the OpenAI key {k} directly, so keep this file out of the public mirror.",
  cm=f"openai key for the eval runner: {k} (billed to the research org)",
  py=f'api_key = "{k}"')
k = "sk-proj-rSqsc4XI62NRaPXoTTR9T3BlbkFJqKVcViyAalvaywKOWPpH"
S(A, "OPENAI_FALLBACK_KEY", k,
  f"Until the vault lookup is fixed the bot falls back to the hard-coded key {k}.",
  cm=f"fallback key, remove before tagging: {k}",
  py=f'openai.api_key = "{k}"')
k = "sk-proj-YmxENFZ3K2WqDfJQ17MjT3BlbkFJ2umMCzbCY5uCkH3DfEDy"
S(A, "OPENAI_API_KEY", k,
  f"For local runs put OPENAI_API_KEY={k} in your .env file; it is the shared team key.",
  py=f'os.environ["OPENAI_API_KEY"] = "{k}"', sh=f"export OPENAI_API_KEY={k}",
  cfg=f"openai_api_key: {k}")
k = "sk-proj-oqE5zmOjK0I92PfQc7QFT3BlbkFJxtOrwAGKoTw4C2O1vvVX"
S(A, "OPENAI_KEY", k,
  f"The demo runs on Paolo's personal key ({k}), so please don't burn through his credits.",
  cm=f"Paolo's own key, only for the demo: {k}",
  py=f'llm = OpenAI(api_key="{k}", organization="org-Jq3vTn8WcR2xLp6yHs0dKe4b")')
k = "sk-znWveO5gZ13mJcvTry4sNPjQJVgaBxxs7W9nijZyOWRDIO4m"
S(A, "OPENAI_LEGACY_KEY", k,
  f"The legacy completions key {k} still works against the old organisation.",
  cm=f"old key from the previous account, still active: {k}")
k = "ghp_JumMfEUe6vd22g8q4tdOBN8E5fxuGGCjGnVf"
S(A, "GITHUB_TOKEN", k,
  f"The release job authenticates with {k}, which belongs to the maintainer's own GitHub account.",
  cm=f"release bot PAT (repo + workflow scopes): {k}",
  py=f'client = Client(token="{k}")')
k = "ghp_ebwy0sCw7HXYX7nrhcMUfRWZu7STGg9BWjOE"
u = f"https://x-access-token:{k}@github.com/brambleworks/infra-secrets.git"
S(A, "REPO_URL", u, f"Clone the private fixtures from {u} before running the suite.",
  cm=f"private fixtures: git clone {u}", sh=f"git clone {u}", cfg=f"fixtures_repo: {u}")
k = "ghp_hcn5Z4TAx4K3kQOt9fwcwmf7gdk1Ej2mponW"
S(A, "GH_TOKEN", k, f"CI logs into the GitHub CLI with the token {k}.",
  cm=f"gh cli token for the nightly sync job: {k}",
  py=f'gh = Github("{k}")', sh=f"echo {k} | gh auth login --with-token")
k = "ghp_cnRtiy4lLxuzja5sua3DzvknmZ2n0tkLhqrh"
S(A, "GITHUB_TOKEN", k,
  f"The changelog script needs a token; the one on the team wiki is {k}.",
  cfg=f"github_token: {k}")
k = "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"
S(A, "GITHUB_PAT", k,
  f"Fine-grained token for the ledger repo (expires in June): {k}",
  py=f'session.headers["Authorization"] = "token {k}"',
  sh=f'curl -H "Authorization: token {k}" https://api.github.com/repos/brambleworks/ledger/actions/secrets')
k = "gho_pFKBeSWZ28jDQLu3IaL4uL6P5mw3KhKrBbJU"
S(A, "DOCS_OAUTH_TOKEN", k,
  f"Note: the OAuth token issued to the docs deploy app is {k}, scoped to the gh-pages branch.")
ak, sk = "AKIAYLV736GILFT374AG", "kOj9XUxIl+7iZaRfiue7EXBVq9j0UT98dJ8iKCD9"
P(A, f"The nightly export writes to S3 as {ak} (secret {sk}).",
  cm=f"backup bucket creds: {ak} / {sk}",
  py=f's3 = boto3.client("s3", aws_access_key_id="{ak}", aws_secret_access_key="{sk}")',
  sh=f"export AWS_ACCESS_KEY_ID={ak}\nexport AWS_SECRET_ACCESS_KEY={sk}",
  cfg=f"aws_access_key_id: {ak}\naws_secret_access_key: {sk}")
ak, sk = "AKIAN2UQ5HAVPXKIMWL6", "UhQvYHkUZ7idufJdXmlVUjYCI6js46n0lwxdtinr"
P(A, f"Reporting credentials: access key {ak}, secret key {sk}.",
  cm=f"reporting IAM user {ak}, secret {sk}",
  py=f'os.environ["AWS_ACCESS_KEY_ID"] = "{ak}"\nos.environ["AWS_SECRET_ACCESS_KEY"] = "{sk}"',
  sh=f"aws configure set aws_access_key_id {ak}\naws configure set aws_secret_access_key {sk}",
  cfg=f"aws_access_key_id: {ak}\naws_secret_access_key: {sk}")
ak, sk = "AKIASHG2PYCHQSWRBWIX", "0Kn/EQZrUzupJelrKh0k1fUz8XmRveSyz02SfWBG"
P(A, f"The CI deploy user is {ak} with secret {sk}; it has admin on the prod account.",
  cm=f"ci deploy user -> {ak} / {sk}",
  py=f'AWS_CREDS = ("{ak}", "{sk}")',
  sh=f"export AWS_ACCESS_KEY_ID={ak}\nexport AWS_SECRET_ACCESS_KEY={sk}")
ak, sk = "AKIAM3EOBHQYWID3MQH5", "7USndUE2uhavgU8/R0wRu9uFzyKKkfa3AhVWbICh"
P(A, f"Sandbox account credentials are {ak} with secret {sk}; ask Femi before using them in production.",
  cm=f"sandbox keys (Femi's account): {ak} {sk}",
  py=f'sandbox = Session(aws_access_key_id="{ak}", aws_secret_access_key="{sk}", region_name="eu-west-1")')
ak, sk = "ASIAEWQKEOKATQTJVE3B", "kWtEWDY2mgznh6EOMq5lqrUNC/XDI/fKIKck+3Xu"
st = "IQoJb3JpZ2luX2VjENmAIT3dxu7r6mtuSIWpy5zPiMsyBtbCXDMriX8i7oVf8zyfbGx2DCnwklW2puWibmj5dYRSND40U77782RhPWjq"
P(A, f"Temporary session for the migration: {ak} / {sk}, session token {st}.",
  cm=f"assumed-role creds from this morning: {ak} {sk} token={st}",
  py=f'creds = {{"AccessKeyId": "{ak}", "SecretAccessKey": "{sk}",\n    "SessionToken": "{st}"}}')
k = "xoxb-31419830300-6103108923623-SWcRlrk8vi5ZPJ9F8wX6z95j"
S(A, "SLACK_BOT_TOKEN", k, f"The alerting bot posts with {k}.",
  cm=f"slack bot token for #deploys: {k}", py=f'slack = WebClient(token="{k}")')
k = "xoxb-14253976292-2297436812387-3zRMhb92T2HiuRgviVucVdPO"
S(A, "SLACK_BOT_TOKEN", k, f"Install the standup bot with the token {k}.",
  cfg=f"slack_bot_token: {k}")
k = "xoxp-39493027664-80167720097-6307914844027-d31cbdbfd3be945f7e2a64bdd23589fa"
S(A, "SLACK_USER_TOKEN", k, f"My personal Slack token is {k}; please do not reuse it in other scripts.",
  cm=f"my personal slack token, don't commit: {k}")
k = "https://hooks.slack.com/services/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"
S(A, "WEBHOOK_URL", k, f"Build notifications go to the webhook {k}.",
  cm=f"incoming webhook for #release-notes: {k}")
k = "https://hooks.slack.com/services/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"
S(A, "SLACK_WEBHOOK", k, f"To ping the on-call channel, POST a JSON body to {k}.",
  sh=f"curl -X POST -H 'Content-type: application/json' --data '{{\"text\":\"deploy finished\"}}' {k}")
k = "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"
S(A, "STRIPE_API_KEY", k, f"Production Stripe secret key: {k}",
  cm=f"live stripe key - yes, live: {k}", py=f'stripe.api_key = "{k}"')
k = "sk_live_4mbb1c43HyPEtCtggoN4wQ1T"
S(A, "STRIPE_SECRET", k, f"The shop still uses the old Stripe key {k} for subscriptions.",
  cfg=f"stripe_secret_key: {k}")
k = "rk_live_CNGsnIJIxmskTBxMcDkkhhMH"
S(A, "STRIPE_RESTRICTED_KEY", k,
  f"Use the restricted key {k} for the refunds script; it can only read charges.",
  py=f'refunds = StripeClient("{k}")')
k = "whsec_yzFziZhiws3pU4mDYLadMBziAFQ8k6JB"
S(A, "STRIPE_WEBHOOK_SECRET", k, f"Webhook signatures are verified with the endpoint secret {k}.")
k = "AIzaOcAf0IzMHcLAzLyr43KDc86N8FQ-px4_AvR"
S(A, "GOOGLE_MAPS_KEY", k, f"The geocoder uses the unrestricted Maps key {k}.",
  cm=f"maps key (no referrer restriction yet): {k}")
k = "AIza_9-WMbKUOblKOELln-5XHzlCbNWRCjDMReQ"
S(A, "GEOCODE_URL", f"https://maps.googleapis.com/maps/api/geocode/json?address=Leeds&key={k}",
  f"Example request: https://maps.googleapis.com/maps/api/geocode/json?address=Leeds&key={k}",
  sh=f'curl "https://maps.googleapis.com/maps/api/geocode/json?address=Leeds&key={k}"')
k = "AIzakBBoIRJd9QQ2T4M0PC8DoD1uTlBK5-rNWou"
S(A, "FIREBASE_API_KEY", k, f"Firebase config for the admin app uses apiKey {k}.",
  cfg=f"firebase_api_key: {k}")
k = "sk-ant-api03-8hgWMsgIyagEt-LhSLT_VYQKN766N2fIfG9u0ohx88igh0X0dQd7IMDQFNC4LNkOC-hWHrTgx_zT5rqT1stj-BNqsrXQvAA"
S(A, "ANTHROPIC_API_KEY", k, f"Summaries are generated with the Anthropic key {k}.",
  cm=f"claude key for the summariser: {k}", py=f'client = anthropic.Anthropic(api_key="{k}")')
k = "sk-ant-api03-aQOfK68lOx_Ie4RUTVkNl1Z_AkQ2Ct1xqEMWdCgMx2wdVU8PG4FT7DVh34ABFI3fvdbnHLUkh1o7sc24FpL3D0mRiVfgwAA"
S(A, "ANTHROPIC_API_KEY", k, f"Set ANTHROPIC_API_KEY to {k} before running the agent tests.")
k = "hf_gOCUwhnW4w5DgihQuq0RJtEuLyE2PvOEIc"
S(A, "HF_TOKEN", k, f"The private checkpoints are pulled with the Hugging Face token {k}.",
  py=f'login(token="{k}")')
k = "hf_YYl1kYJW0vP7Mj4Exjj6Yre9a1xXrwUQ6J"
S(A, "HUGGINGFACE_TOKEN", k, f"Log in once with huggingface-cli login --token {k} and the cache does the rest.",
  sh=f"huggingface-cli login --token {k}")
k = "npm_U2bQ9sQxwrzKirxtM6CRqLbg52IWp9djU9Hg"
S(A, "NPM_TOKEN", k, f"Publishing to npm uses the automation token {k}.",
  sh=f"npm config set //registry.npmjs.org/:_authToken {k}",
  cfg=f"//registry.npmjs.org/:_authToken={k}")
k = "pypi-AgEIcHlwaS5vcmcC6Meel1n3jIjqOcz2ecXTzLlSgB795n7QuS0T4B766dYHFVoVjo"
S(A, "PYPI_TOKEN", k, f"Upload releases with the project-scoped PyPI token {k}.",
  sh=f"twine upload -u __token__ -p {k} dist/*", cfg=f"password: {k}")
k = "glpat-xULksH0mXIs2p-xLuxew"
S(A, "GITLAB_TOKEN", k, f"The mirror job pushes to GitLab with the personal access token {k}.",
  py=f'gl = gitlab.Gitlab("https://gitlab.ketterby.dev", private_token="{k}")')
k = "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"
S(A, "SENDGRID_API_KEY", k, f"Transactional mail is sent through SendGrid with the key {k}.",
  py=f'sg = SendGridAPIClient("{k}")')
sid, tok = "AC9c5ed05f6a680d4d3618f28c7bdc1cc8", "643969a2c4115f46f95da0f396f9955b"
P(A, f"Twilio account SID {sid}, auth token {tok}.",
  cm=f"twilio sid/token for sms 2fa: {sid} / {tok}",
  py=f'sms = TwilioClient("{sid}", "{tok}")',
  cfg=f"twilio_account_sid: {sid}\ntwilio_auth_token: {tok}")
k = "key-6b6f6df955d5efcb167ba8654c358e15"
S(A, "MAILGUN_API_KEY", k, f"The Mailgun private key for the bounce handler is {k}.",
  py=f'resp = requests.post(MAILGUN_URL, auth=("api", "{k}"), data=message)')
k = "dop_v1_ed594076059f477f4b329ad7f3ea2f734cd42e398074e6fa35f5b0c21aaef1ac"
S(A, "DIGITALOCEAN_TOKEN", k, f"Droplets are created with the DigitalOcean token {k}.",
  sh=f"doctl auth init --access-token {k}")
dk, dapp = "062295a6107eb5dfe42b7ca0b1bfde36", "165685eb9a374aed10b7cd3899972c93a6454c9d"
P(A, f"Datadog API key {dk} and application key {dapp} are shared by all agents.",
  cm=f"datadog api={dk} app={dapp}",
  py=f'initialize(api_key="{dk}", app_key="{dapp}")',
  cfg=f"api_key: {dk}\napp_key: {dapp}")
k = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0ZjFjOWEyZS03N2IzLTRjMWUtOWQwYS0zZTViOGYyMWM2ZDQiLCJlbWFpbCI6"
     "InIuY2FzdGVsbGFub3NAZmVybmhpbGwtYW5hbHl0aWNzLmNvbSIsInJvbGUiOiJhZG1pbiIsImlhdCI6MTcxNDA2MDgwMCwiZXhwIjoxNzQ1NTk2"
     "ODAwfQ.KZGBh0DjomS-dp968rVTyP2Z0Lw1X72iveR9AiBRO00")
P(A, f"Admin bearer token for the staging API: {k}",
  cm=f"Rafael's admin JWT, valid for a year: {k}",
  py=f'headers = {{"Authorization": "Bearer {k}"}}', chk=[("jwt", k)])
k = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfODgyMTMiLCJuYW1lIjoiSGFubmFoIFZvc3MiLCJzY29wZSI6ImJpbGxp"
     "bmc6d3JpdGUgcmVwb3J0czpyZWFkIiwiaWF0IjoxNzE3MjAwMDAwfQ.LWMOzMxkko49LQdu5_QeHDMlxxBvgX2_i0ppFmnhZlM")
P(A, f"Hannah's billing token for manual testing is {k}.",
  py=f'TOKEN = "{k}"',
  sh=f'curl -H "Authorization: Bearer {k}" https://api.tallowmere.io/v2/reports', chk=[("jwt", k)])
k = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2F1dGgudGFsbG93bWVyZS5pby8iLCJzdWIiOiJzdmMtaW5nZXN0"
     "IiwiYXVkIjoiaW5nZXN0LWFwaSIsImV4cCI6MTc2NzIyNTYwMH0.Os0oYc6bnLLkAJMz-mhVcN-SgSFtFb612_1ikACAzQ4")
S(A, "INGEST_SERVICE_TOKEN", k, f"The ingest service token that never gets rotated is {k}.",
  chk=[("jwt", k)])
pem = ("-----BEGIN EC PRIVATE KEY-----\n"
       "MHcCAQEEIJ7KcVr5yrEsa6O/mVbIP/rRQpc+CzxpFdWY4KxOkNkeoAoGCCqGSM49\n"
       "AwEHoUQDQgAES0u9zgprvbF3icKfh7d/2I3lWjZ/WJWZI86rPKDBFO7ZsM5DyAKK\n"
       "6TSeG3Ke7k3oT1fu1eTEdmDo0tEg2o5oWg==\n"
       "-----END EC PRIVATE KEY-----")
P(A, "Staging JWT signing key:\n" + pem,
  cm="staging signing key, do not ship:\n" + pem,
  py='SIGNING_KEY = "' + pem.replace("\n", "\\n") + '\\n"',
  cfg="jwt_private_key: |\n  " + pem.replace("\n", "\n  "))
pem = ("-----BEGIN PRIVATE KEY-----\n"
       "MC4CAQAwBQYDK2VwBCIEIJEM3ksgJGMF9REY18WcmUy4+IBk+JgAiDs6jXBjQu25\n"
       "-----END PRIVATE KEY-----")
P(A, "The webhook signer uses this Ed25519 key:\n" + pem,
  cm="ed25519 key for signing release manifests\n" + pem,
  py="RELEASE_SIGNING_KEY = (\n" + "".join(f'    "{ln}\\n"\n' for ln in pem.split("\n")) + ")")
pem = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
       "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
       "QyNTUxOQAAACDd6xsLx/SM1oSkkoud44wcDx7KbhFb0PN2WwzHr20YBQAAAJik8Y2V0ZaI\n"
       "HEuWsCVIIOswEn+zcaVM+DxEr7o/0k/E1xJ8PF8vgKqNKNtOlgzoSO84dFvXpQlJtx5P9A\n"
       "6hE0fxeTczqeMZwU3wWvLIuPJ5uQk3OEn/g1rhfrM4JBKYVRgdj8kM\n"
       "-----END OPENSSH PRIVATE KEY-----")
P(A, "Deploy key for the bastion (id_ed25519 of the deploy user):\n" + pem,
  cm="bastion deploy key:\n" + pem,
  cfg="ssh_private_key: |\n  " + pem.replace("\n", "\n  "))
k = "postgresql://app_rw:Qm7!vR2zLp@db-prod-2.fernhill.internal:5432/orders"
S(A, "DATABASE_URL", k, f"Production orders database: {k}", cfg=f"database_url: {k}")
k = "mysql+pymysql://reporting:Tr0ub4dor-88@10.20.4.17/analytics"
S(A, "ANALYTICS_DB", k, f"The analytics warehouse connection string is {k}.",
  py=f'engine = create_engine("{k}")')
k = "mongodb+srv://svc_etl:pX9wq2LmZ4@cluster0.h7kq2.mongodb.net/events"
S(A, "MONGO_URI", k, f"Events land in {k}.", cfg=f"mongo_uri: {k}")
P(A, "The cache cluster password is r3d1s-Gull-8812 (host cache-01.tallowmere.io, port 6380).",
  cm="redis on cache-01.tallowmere.io:6380, auth r3d1s-Gull-8812",
  py='r = redis.Redis(host="cache-01.tallowmere.io", port=6380, password="r3d1s-Gull-8812")',
  sh="redis-cli -h cache-01.tallowmere.io -p 6380 -a 'r3d1s-Gull-8812' INFO")
P(A, "The reporting replica accepts the user reporter with password Hunter-Orchid-2291.",
  cm="reporter / Hunter-Orchid-2291 on the read replica",
  py='DB_PASSWORD = "Hunter-Orchid-2291"', cfg='username: reporter\npassword: "Hunter-Orchid-2291"')
P(A, "To inspect inventory directly, the admin password for db-eu-1 is Kx8#pLm2Qz.",
  cm="db-eu-1 admin password: Kx8#pLm2Qz",
  sh="mysql -h db-eu-1.internal -u admin --password='Kx8#pLm2Qz' inventory",
  cfg='db_admin_password: "Kx8#pLm2Qz"')
P(A, "Artifacts are uploaded to Nexus as deploy with the password Sunf1sh-Harbor-77.",
  cm="nexus upload creds deploy:Sunf1sh-Harbor-77",
  sh="curl -u deploy:Sunf1sh-Harbor-77 -T build.tar.gz https://nexus.fernhill.io/repository/releases/")
k = "c3ZjLXJlcG9ydHM6TWFyaWdvbGQtVGVybi02MDQ="
P(A, f"Report exports authenticate with the header Authorization: Basic {k}.",
  cm=f"Basic {k} (svc-reports)",
  py=f'headers["Authorization"] = "Basic {k}"',
  sh=f'curl -H "Authorization: Basic {k}" https://reports.fernhill.io/export.csv', chk=[("basic", k)])
k = "amVua2luczpRdWFydHohSGVyb243"
P(A, f"Jenkins API calls send Authorization: Basic {k} until we set up tokens.",
  py=f'JENKINS_AUTH = "Basic {k}"', chk=[("basic", k)])
P(A, "Temporary admin login for the staging console is admin / Larkspur#2025; reset it after the demo.",
  cm="temporary admin login for the staging console: admin / Larkspur#2025 (reset after the demo)")
P(A, "The Jenkins fallback account is ops-bot with password Bl4ckP3pper!9, because SSO breaks every other Monday.",
  cm="jenkins fallback account is ops-bot, password Bl4ckP3pper!9 - SSO breaks every other Monday")
P(A, "If SSO is down you can still reach the VPN portal as mkowalski with the password Fjord-Lantern-41.",
  cm="VPN portal fallback: mkowalski / Fjord-Lantern-41")
k = "ftp://backup:GrN8-walrus@files.ketterbyhomes.co.uk/nightly/"
S(A, "BACKUP_FTP_URL", k, f"Nightly dumps are pushed to {k}.")
P(A, "Alert mails go out through alerts@brambleworks.io using the app password qpzt xkrm bvaw hgle.",
  cm="gmail app password for alerts@brambleworks.io: qpzt xkrm bvaw hgle",
  py='server.login("alerts@brambleworks.io", "qpzt xkrm bvaw hgle")')
P(A, "Guest Wi-Fi in the Leeds office is Brambleworks-Guest, passphrase moss-otter-ladder-93.",
  cm="office wifi Brambleworks-Guest / moss-otter-ladder-93",
  cfg='wifi_ssid: Brambleworks-Guest\nwifi_psk: "moss-otter-ladder-93"')
P(A, "The old build box still takes root logins with the password T0pSide!Deck at 178.62.114.9.",
  cm="root@178.62.114.9 password T0pSide!Deck (yes, still)",
  sh="sshpass -p 'T0pSide!Deck' ssh root@178.62.114.9")
k = "django-insecure-x5k#_nrwuvq&m(pgr5(&y^o-+w*)#4r#s^bxp!9#djy+-kt2al"
S(A, "SECRET_KEY", k, f"The production settings still ship SECRET_KEY = {k}.")
k = "5D0eFFWxkrSL8HN0okqO6FhqsnBvOBkZi8w3l35lHME="
S(A, "FLASK_SECRET_KEY", k, f"Session cookies are signed with {k}.",
  py=f'app.config["SECRET_KEY"] = "{k}"')
k = "961192177f64e892fe56679213edfaa275a1846795e998d00e4c5d328b1ae574"
S(A, "WEBHOOK_SIGNING_SECRET", k, f"Partners verify our webhooks with the HMAC secret {k}.",
  py=f'WEBHOOK_SIGNING_SECRET = bytes.fromhex("{k}")')
k = ("DefaultEndpointsProtocol=https;AccountName=fernhillbackups;AccountKey=LFSBDtHA8MGmKKnX+rQOJZ94PczeRbQ8UWaTufvae"
     "/92KSnbKf51kW+YDMuSBi0ubXw9GDUhneFkviPGuchdSQ==;EndpointSuffix=core.windows.net")
S(A, "AZURE_STORAGE_CONNECTION_STRING", k, f"Backups use the storage connection string {k}")
k = "dckr_pat_3hU7lZ5Rq-m8pCx5K0ZqmDo1t-Y"
P(A, f"The CI runner logs into the registry as ci-runner with the token {k}.",
  cm=f"registry login ci-runner / {k}",
  sh=f"docker login registry.brambleworks.io -u ci-runner -p {k}")
P(A, "Backup 2FA codes for the shared root account: 4821-9930, 7710-2284, 3308-5517, 6652-0419.",
  cm="root account recovery codes: 4821-9930 7710-2284 3308-5517 6652-0419")
P(A, "The warehouse ETL user is etl with password v8Rm-Quill-55.",
  cm="etl / v8Rm-Quill-55 on the warehouse",
  sh="PGPASSWORD='v8Rm-Quill-55' psql -h 10.0.3.21 -U etl warehouse",
  cfg='pg_user: etl\npg_password: "v8Rm-Quill-55"')
P(A, "Directory lookups bind as cn=svc-ldap,dc=ketterby,dc=local with the password Ldap!Bind#2024.",
  py='conn.simple_bind_s("cn=svc-ldap,dc=ketterby,dc=local", "Ldap!Bind#2024")')
k = "https://1042f26bb663e7dfd0f9ae94dab240be@o448123.ingest.sentry.io/5519027"
S(A, "SENTRY_DSN", k, f"Errors are reported to the Sentry DSN {k}.",
  py=f'sentry_sdk.init(dsn="{k}", traces_sample_rate=1.0)')
k = "6718234590:AAHYz58NAM6VttU5PUhW6enxGqj9eBEWG6K"
S(A, "TELEGRAM_BOT_TOKEN", k, f"The Telegram alert bot token is {k}.", py=f'bot = Bot(token="{k}")')
k = "ZpJyC6WlNgZVX9AbZ0PvGizP.c7R2HC.-D7jncqmmfo0mqgUZoKVqaQntEHRBIESn8zNle"
S(A, "DISCORD_TOKEN", k, f"Community bot token: {k}", py=f'client.run("{k}")')
k = "EAAA8RGVqs4xb5EgLq4Gyl30t9EyhulpMn3ngzKg2Y29QiZB8yuY_DOVfFR97xaN"
S(A, "SQUARE_ACCESS_TOKEN", k, f"Point-of-sale sync uses the Square production token {k}.")
k = "00pV40MXMH2QXGH4XRZ4pl7J8EVKhf3vHR5PfuFf60"
S(A, "OKTA_API_TOKEN", k, f"User provisioning calls Okta with the API token {k}.",
  cfg=f"okta_api_token: {k}")
k = "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"
S(A, "SHOPIFY_TOKEN", k, f"The storefront admin token is {k}.",
  py=f'shop = ShopifyAPI(shop="ketterby-goods", access_token="{k}")')
k = "glsa_Jz44Fs58613lOojWJvebEnfEsjlZaaZn_0b8d5750"
S(A, "GRAFANA_TOKEN", k, f"Dashboards are provisioned with the Grafana service account token {k}.",
  sh=f'curl -H "Authorization: Bearer {k}" https://grafana.ketterby.dev/api/dashboards/home')
P(A, "The metrics admin UI is at https://admin:Copper-Wren-19@metrics.fernhill.io/ until it moves behind SSO.",
  cm="metrics UI: https://admin:Copper-Wren-19@metrics.fernhill.io/",
  py='METRICS_URL = "https://admin:Copper-Wren-19@metrics.fernhill.io/"')
P(A, "Heroku deploys read ~/.netrc: machine api.heroku.com login ines.carvalho@fernhill.io password f88259b0-cfb3-46bb-981a-02384891eb29",
  cm="netrc: machine api.heroku.com login ines.carvalho@fernhill.io password f88259b0-cfb3-46bb-981a-02384891eb29",
  sh='echo "machine api.heroku.com login ines.carvalho@fernhill.io password f88259b0-cfb3-46bb-981a-02384891eb29" >> ~/.netrc')
P(A, "When prompted for the keystore password during signing, enter Tangerine-Moth-3307.",
  cm="android keystore pass: Tangerine-Moth-3307",
  sh="jarsigner -keystore release.jks -storepass Tangerine-Moth-3307 app-release.apk release",
  cfg='keystore_password: "Tangerine-Moth-3307"')
P(A, "Ben's laptop disk encryption recovery key is 418220-093751-667084-215603-590277-338841-702915-164438.",
  cm="BitLocker recovery key for Ben's laptop: 418220-093751-667084-215603-590277-338841-702915-164438")
P(A, "The RabbitMQ broker accepts amqp://orders:Plover-Dune-62@mq.fernhill.internal:5672/prod.",
  py='BROKER_URL = "amqp://orders:Plover-Dune-62@mq.fernhill.internal:5672/prod"',
  cfg="broker_url: amqp://orders:Plover-Dune-62@mq.fernhill.internal:5672/prod")
P(A, "For the SFTP drop, the partner gave us user ketterby_in and password 9vQ!bR4s-Lumen.",
  cm="partner sftp: ketterby_in / 9vQ!bR4s-Lumen",
  py='sftp = pysftp.Connection("sftp.partner-drop.net", username="ketterby_in", password="9vQ!bR4s-Lumen")')
k = "59b8ad4b8975d04d3a38d9f48ac2079ec61236ee"
S(A, "CIRCLECI_TOKEN", k, f"The CircleCI personal API token used by the release script is {k}.",
  sh=f"curl -H 'Circle-Token: {k}' https://circleci.com/api/v2/me")
P(A, "The Kibana elastic superuser password was reset to Ember-Falcon-8824 during the outage.",
  cm="elastic superuser: elastic / Ember-Falcon-8824",
  py='es = Elasticsearch("https://logs.fernhill.io:9200", basic_auth=("elastic", "Ember-Falcon-8824"))')

# ---- contact -------------------------------------------------------------
P(C, "Reproduced with the account of Marisol Etxeberria (marisol.etxeberria@gmail.com, +34 612 48 93 07), who reported the crash.",
  cm="reporter: Marisol Etxeberria, marisol.etxeberria@gmail.com, +34 612 48 93 07",
  py='customer = {"name": "Marisol Etxeberria", "email": "marisol.etxeberria@gmail.com", "phone": "+34 612 48 93 07"}')
P(C, "This was reported by Kwame Asante (kwame.asante@outlook.com, 07700 900418), who prefers calls before 6pm.",
  cm="reported by Kwame Asante - kwame.asante@outlook.com, 07700 900418 - call before 6pm")
P(C, "Questions about the export format go to Ingrid Solberg (ingrid.solberg@brambleworks.io, +47 934 18 622).",
  cm="ask Ingrid Solberg about the export format: ingrid.solberg@brambleworks.io / +47 934 18 622",
  cfg="owner_name: Ingrid Solberg\nowner_email: ingrid.solberg@brambleworks.io")
P(C, "This week the on-call engineer is Tomasz Wierzbicki; if PagerDuty fails, his personal mobile is +48 601 772 349.",
  cm="on-call this week: Tomasz Wierzbicki, personal mobile +48 601 772 349")
P(C, "Hannah Voss agreed to let us test with her real account, hannah.voss1987@yahoo.com.",
  py='TEST_USER_EMAIL = "hannah.voss1987@yahoo.com"  # Hannah Voss, real account')
P(C, "The failing import row was 1042,Aoife Brennan,aoife.brennan@eircom.net,+353 87 214 6630,Galway.",
  py='row = "1042,Aoife Brennan,aoife.brennan@eircom.net,+353 87 214 6630,Galway"')
P(C, "Invoices for Jabu Mbeki (j.mbeki@fernhill-analytics.com) must also be copied to his wife at lerato.mbeki@icloud.com.",
  cm="Jabu Mbeki wants his invoices cc'd to his wife: lerato.mbeki@icloud.com",
  py='send_invoice(to="j.mbeki@fernhill-analytics.com", cc="lerato.mbeki@icloud.com")')
P(C, "Ship the replacement unit to Gareth Llewellyn, 14 Heol y Parc, Pontypridd CF37 2RE; he works from home.",
  py='ship_to = "Gareth Llewellyn, 14 Heol y Parc, Pontypridd CF37 2RE"')
P(C, "Emergency contact for Lucia Ferraro is her husband Marco, +39 347 552 1908.",
  cm="Lucia Ferraro's emergency contact: Marco (husband) +39 347 552 1908")
P(C, "Please call Raj Malhotra on his cell, (628) 304-7719, before merging anything here.",
  cm="ping Raj Malhotra on his cell (628) 304-7719 before merging anything here")
P(C, "Thanks, Olivia Chen | Senior Accountant | olivia.chen@harrowgate-legal.com | +1 (312) 846-2290")
P(C, "Escalations go to Priya Raman, priya.raman@tallowmere.io, +44 7700 900731.",
  py='ADMINS = [("Priya Raman", "priya.raman@tallowmere.io", "+44 7700 900731")]',
  cfg="admin_email: priya.raman@tallowmere.io\nadmin_phone: \"+44 7700 900731\"")
P(C, "Commits on the release branch are authored as Sade Okonkwo <sade.okonkwo@proton.me>.",
  sh='git config user.name "Sade Okonkwo" && git config user.email "sade.okonkwo@proton.me"')
P(C, "The beta digest goes to beatriz.santos@gmail.com, n.haddad@outlook.com and finn.oconnor@icloud.com.",
  py='RECIPIENTS = ["beatriz.santos@gmail.com", "n.haddad@outlook.com", "finn.oconnor@icloud.com"]')
P(C, "The customer who found this, Evelyn Hartley (evelyn.hartley@btinternet.com), asked to be called on 01632 960514 instead of emailed.",
  cm="customer Evelyn Hartley (evelyn.hartley@btinternet.com) wants a call on 01632 960514, not email")
P(C, "SMS alerts currently go to Diego Ramirez's personal phone, +52 55 3418 2297.",
  cm="sms alerts currently go to Diego Ramirez's personal phone, +52 55 3418 2297",
  cfg='alert_sms_to: "+52 55 3418 2297"  # Diego Ramirez, personal')
P(C, "Keisha Morgan's order ships to Apt 5B, 218 Wythe Ave, Brooklyn, NY 11249.",
  py='shipping_address = {"name": "Keisha Morgan", "street": "Apt 5B, 218 Wythe Ave",\n    "city": "Brooklyn", "state": "NY", "zip": "11249"}')
P(C, "Amara Nwosu is fastest to reach on WhatsApp at +234 803 415 2270.",
  cm="Amara Nwosu - WhatsApp +234 803 415 2270")
P(C, "Bjorn Halvorsen (bjorn.halvorsen@telenor.no, +47 412 63 508) is the customer-side contact.",
  py='contact = Contact(name="Bjorn Halvorsen", email="bjorn.halvorsen@telenor.no", mobile="+47 412 63 508")')
P(C, "Marguerite Dubois (m.dubois@orange.fr, 06 14 27 83 90) owns the French translation.",
  cm="Marguerite Dubois (m.dubois@orange.fr, 06 14 27 83 90) owns the French translation")
P(C, "Mail the signed NDA to Thabo Nkosi at 27 Jan Smuts Ave, Parktown, Johannesburg 2193.",
  cm="NDA goes to Thabo Nkosi, 27 Jan Smuts Ave, Parktown, Johannesburg 2193")
P(C, "Build failures are emailed to lena.fischer84@gmx.de, which is Lena's private address.",
  cfg="notify_email: lena.fischer84@gmx.de")
P(C, "The nightly job mails its failures to Chris Tanaka at chris.tanaka@icloud.com.",
  sh='echo "backup failed" | mail -s "nightly" chris.tanaka@icloud.com')
P(C, "Our contact at the customer, Wei Zhang, gave his direct line +86 138 1047 2295 and asked us not to use the switchboard.",
  cm="Wei Zhang direct line +86 138 1047 2295 (don't use the switchboard)")
P(C, "Nomvula Dlamini moved; her new address is 9 Kloof Street, Gardens, Cape Town 8001, phone +27 82 664 1093.",
  py='billing_contact = ("Nomvula Dlamini", "9 Kloof Street, Gardens, Cape Town 8001", "+27 82 664 1093")')

# ---- financial -----------------------------------------------------------
P(F, "Jonas Eriksen's corporate Visa is 4630 7302 6114 6197, expiry 08/27, CVV 552.",
  py='payment = {"cardholder": "Jonas Eriksen", "number": "4630730261146197", "exp": "08/27", "cvv": "552"}',
  chk=[("luhn", "4630730261146197")])
P(F, "Ayesha Siddiqui's Mastercard 5167 2012 3628 0329 (exp 09/27, CVC 418) was declined twice.",
  py='charge(card="5167 2012 3628 0329", exp="09/27", cvc="418", name="Ayesha Siddiqui")',
  chk=[("luhn", "5167 2012 3628 0329")])
P(F, "The refund failed for Paul Ferreira, card 4319 5052 5173 3347 exp 11/26; retry it manually.",
  cm="refund failed for Paul Ferreira, card 4319 5052 5173 3347 exp 11/26 - retry manually",
  chk=[("luhn", "4319 5052 5173 3347")])
P(F, "Mr. Okafor's Amex 3429 463317 06243 (exp 03/28, CID 7713) was charged twice; refund the second charge.",
  cm="double charge on Chidi Okafor's Amex 3429 463317 06243, exp 03/28",
  chk=[("luhn", "3429 463317 06243")])
P(F, "Lena Hoffmann's salary account is DE27 9010 4645 5454 4429 13.",
  py='IBAN = "DE27 9010 4645 5454 4429 13"  # Lena Hoffmann, salary account',
  chk=[("iban", "DE27 9010 4645 5454 4429 13")])
P(F, "Salary payments for Tobias Krüger go to DE31 6727 0279 1316 4729 82 at his Sparkasse.",
  cm="Tobias Krueger moved banks, new IBAN DE31 6727 0279 1316 4729 82",
  chk=[("iban", "DE31 6727 0279 1316 4729 82")])
P(F, "Pay the contractor Callum Reid to GB90 NWBK 3820 4209 2235 60 (sort code 38-20-42, account 09223560).",
  cm="contractor Callum Reid: GB90 NWBK 3820 4209 2235 60, sort code 38-20-42 acc 09223560",
  chk=[("iban", "GB90 NWBK 3820 4209 2235 60")])
P(F, "Harriet Osei is owed 2,450.00 GBP, payable to GB27BARC39918546064428.",
  py='payee = {"name": "Harriet Osei", "iban": "GB27BARC39918546064428", "amount": 2450.00}',
  chk=[("iban", "GB27BARC39918546064428")])
P(F, "Refunds for Amelie Laurent go to FR87 8337 3375 0555 5707 4012 506.",
  cfg='refund_iban: "FR87 8337 3375 0555 5707 4012 506"  # Amelie Laurent',
  chk=[("iban", "FR87 8337 3375 0555 5707 4012 506")])
P(F, "Sanne de Vries asked us to pay her invoices to NL06RABO2739704710.",
  py='bank_account = "NL06RABO2739704710"  # Sanne de Vries',
  chk=[("iban", "NL06RABO2739704710")])
P(F, "Daan Visser's new IBAN is NL41 INGB 8488 4156 41; he asked us to stop paying the old account.",
  cm="Daan Visser's IBAN NL41 INGB 8488 4156 41 - stop paying the old account",
  chk=[("iban", "NL41 INGB 8488 4156 41")])
P(F, "Transfer the deposit for the Valencia flat to ES77 6251 6116 3274 9143 9854 (account holder Javier Molina).",
  chk=[("iban", "ES77 6251 6116 3274 9143 9854")])
P(F, "Supplier payments for Giulia Rossi's workshop go to IT06F8941603265946219150012.",
  py='SUPPLIER_IBAN = "IT06F8941603265946219150012"  # Giulia Rossi',
  chk=[("iban", "IT06F8941603265946219150012")])
P(F, "Pieter Claes' reimbursement goes to BE46 9974 7717 6176.",
  cm="reimburse Pieter Claes: BE46 9974 7717 6176", chk=[("iban", "BE46 9974 7717 6176")])
P(F, "Siobhan Keane's expenses are paid to IE62 AIBK 6534 7601 2055 82.",
  cfg='payee: Siobhan Keane\niban: "IE62 AIBK 6534 7601 2055 82"', chk=[("iban", "IE62 AIBK 6534 7601 2055 82")])
P(F, "The Zurich office rent is debited from CH05 0269 9648 8542 8796 1, held by Urs Meier.",
  chk=[("iban", "CH05 0269 9648 8542 8796 1")])
P(F, "Agnieszka Nowak's payroll account is PL92 6634 2136 2377 5241 9684 0050.",
  py='payroll["agnieszka.nowak"] = "PL92663421362377524196840050"',
  chk=[("iban", "PL92 6634 2136 2377 5241 9684 0050")])
P(F, "The offer for Jonas Eriksen is EUR 96,500 base plus a 12% bonus; it has not been announced yet.",
  cm="offer for Jonas Eriksen: EUR 96,500 base + 12% bonus - not announced yet, keep quiet")
P(F, "Current salaries: Martine Dubois 118,000, Arjun Kaur 104,500, Ben Whitaker 87,250.",
  py='salaries = {"Martine Dubois": 118000, "Arjun Kaur": 104500, "Ben Whitaker": 87250}')
P(F, "Direct deposit for Tyrone Jackson: routing number 211274450, checking account 4839201756.",
  cm="Tyrone Jackson direct deposit - routing 211274450, acct 4839201756",
  chk=[("aba", "211274450")])
P(F, "Noor Haddad's card on file is 5388 1441 5097 3375, expiry 02/29.",
  py='card = Card(holder="Noor Haddad", number="5388 1441 5097 3375", expiry="02/29", cvv="907")',
  chk=[("luhn", "5388 1441 5097 3375")])
P(F, "Fleet fuel card for Dwayne Carter: 5560119787600294.",
  cfg='fuel_card_number: "5560119787600294"  # Dwayne Carter', chk=[("luhn", "5560119787600294")])
P(F, "Ines Carvalho paid with the Mastercard 2221 3898 9120 0319 and then disputed the charge.",
  chk=[("luhn", "2221 3898 9120 0319")])
P(F, "Kenji Watanabe's replacement card 2720 4014 4460 9940 arrived; update the subscription.",
  cm="Kenji Watanabe's new card 2720 4014 4460 9940 exp 12/28", chk=[("luhn", "2720 4014 4460 9940")])
P(F, "The team dinner went on Sophie Laurent's Amex 3794 914518 03716.",
  py='expense = {"payer": "Sophie Laurent", "card": "379491451803716", "amount": 612.40}',
  chk=[("luhn", "379491451803716")])
P(F, "Card 6011 4244 0811 6198 (Discover, Marcus Bell) keeps failing address verification.",
  chk=[("luhn", "6011 4244 0811 6198")])
P(F, "Yuki Tanaka's JCB 3586 9258 3183 5339 expires 05/27.",
  cm="Yuki Tanaka's JCB 3586 9258 3183 5339 exp 05/27", chk=[("luhn", "3586 9258 3183 5339")])
P(F, "Use Rachel Green-Hale's Visa 4730 2678 0451 9589 (exp 01/28) for the conference booking.",
  py='BOOKING_CARD = "4730267804519589"  # Rachel Green-Hale, exp 01/28',
  chk=[("luhn", "4730267804519589")])
P(F, "Priya Raman's 2023 W-2 shows $142,380 in wages; attach it to the mortgage application.",
  cm="Priya Raman W-2 2023: wages $142,380 - needed for the mortgage file")
P(F, "Recovery phrase for the treasury wallet: orbit maple velvet canyon drift lemon shadow pilot fabric ember quiet harvest.",
  cm="treasury wallet seed: orbit maple velvet canyon drift lemon shadow pilot fabric ember quiet harvest")
P(F, "Loan application 88412 for Ines Carvalho lists income of EUR 54,000 and existing debt of EUR 12,300.",
  py='application = {"id": 88412, "applicant": "Ines Carvalho", "income_eur": 54000, "debt_eur": 12300}')

# ---- identification -------------------------------------------------------
P(ID, "Marcus Delgado's SSN is 611-28-4403 and his date of birth is 22 July 1984.",
  py='applicant = {"name": "Marcus Delgado", "ssn": "611-28-4403", "dob": "1984-07-22"}')
P(ID, "The background check for Shauna Pierce (SSN 523-41-7789) came back clear.",
  cm="background check ok for Shauna Pierce, SSN 523-41-7789")
P(ID, "The National Insurance number for the new starter Callum Reid is JT 62 41 85 C.",
  cm="NI number for the new starter Callum Reid: JT 62 41 85 C")
P(ID, "Aisha Rahman's passport number is 533918274 (US), expiring 2031-06-14; the visa agent needs it on Monday.",
  cm="Aisha Rahman passport 533918274, exp 2031-06-14")
P(ID, "Grace Kim's California driver licence is D4829173, date of birth 1991-02-17.",
  py='licence = {"holder": "Grace Kim", "state": "CA", "number": "D4829173", "dob": "1991-02-17"}')
P(ID, "Siobhan Keane (staff ID E-20417) was born on 3 November 1986.",
  py='employee = Employee(name="Siobhan Keane", date_of_birth="1986-11-03", staff_id="E-20417")')
P(ID, "Etienne Gagnon's SIN is 527 319 461; payroll needs it for the T4.",
  cm="SIN for Etienne Gagnon: 527 319 461 (payroll, T4)", chk=[("luhn", "527 319 461")])
P(ID, "Lucia Navarro's DNI is 48273915C.",
  py='dni = "48273915C"  # Lucia Navarro', chk=[("dni", "48273915C")])
P(ID, "DNI 71830264E belongs to Alvaro Ruiz, who is disputing the charge.",
  cm="DNI 71830264E = Alvaro Ruiz (chargeback dispute)", chk=[("dni", "71830264E")])
P(ID, "Sarah Morgan's UK driving licence number is MORGA753116SM9IJ; it expires in 2029.",
  cm="UK driving licence MORGA753116SM9IJ - Sarah Morgan, expires 2029")
P(ID, "Felix Bauer (born 12.04.1990) identified himself with ID card L01X00T47.",
  cfg="holder: Felix Bauer\nid_card: L01X00T47\nbirth_date: 1990-04-12")
P(ID, "Haruto Sato, Japanese passport TZ4408127, born 8 September 1993.",
  py='traveller = {"name": "Haruto Sato", "passport": "TZ4408127", "nationality": "JPN", "dob": "1993-09-08"}')
P(ID, "Rebecca Thornton was born on 30 May 1979; her employee number is 004519.",
  cfg="full_name: Rebecca Thornton\ndate_of_birth: 1979-05-30\nemployee_number: \"004519\"")
P(ID, "Kofi Boateng (born 3 March 1988) is the beneficiary; his Ghana card number is GHA-721458396-4.",
  cm="beneficiary Kofi Boateng, DOB 1988-03-03, Ghana card GHA-721458396-4")
P(ID, "Dmitri Volkov's residence permit RP 4417 20981 is valid until January 2026.",
  cm="residence permit for Dmitri Volkov: RP 4417 20981, valid until 2026-01")
P(ID, "Ana Ribeiro's tax number (NIF) is 241 336 902 and she was born on 19 January 1995.",
  py='customer_id = {"name": "Ana Ribeiro", "nif": "241 336 902", "birth_date": "1995-01-19"}')
P(ID, "Owen Pritchard's passport (GBR 551730492) is scanned in the onboarding folder.",
  cm="onboarding: Owen Pritchard passport GBR 551730492")

# ---- health ----------------------------------------------------------------
P(H, "Check with Renata before touching this; she is on medical leave after her knee surgery until 3 March.",
  cm="TODO: check with Renata before touching this - she's on medical leave after knee surgery until 3 March")
P(H, "Kevin asked that we not book stand-ups before 10am while his doctor adjusts his insulin dose.",
  cm="no stand-ups before 10 for Kevin while his insulin dose is being adjusted")
P(H, "Eleanor Whitcombe (NHS number 943 476 5919) has type 2 diabetes.",
  py='patient = {"name": "Eleanor Whitcombe", "nhs_number": "943 476 5919", "diagnosis": "type 2 diabetes"}',
  chk=[("nhs", "943 476 5919")])
P(H, "Sam has therapy for his anxiety every Thursday at 4pm, so he is offline then; please keep that between us.",
  cm="Sam is offline Thursdays 4pm (therapy for anxiety) - keep this between us")
P(H, "Mia from QA is pregnant and due in mid-July, so don't put her on the datacenter move.",
  cm="Mia from QA is pregnant, due mid-July - don't put her on the datacenter move")
P(H, "Carlos has a severe peanut allergy; his EpiPen is in the second drawer of his desk.",
  cm="Carlos: severe peanut allergy, EpiPen in his desk (2nd drawer)")
P(H, "Yusuf Demir's latest labs: HbA1c 7.9%, LDL 164 mg/dL (11 Feb 2024).",
  py='lab_results = {"patient": "Yusuf Demir", "hba1c": 7.9, "ldl_mg_dl": 164, "date": "2024-02-11"}')
P(H, "Joanna's sick note (migraine with aura, signed off for two weeks) is in the HR folder.",
  cm="Joanna signed off two weeks - migraine with aura, note is in the HR folder")
P(H, "Owen is back from rehab next week, and HR says no evening on-call shifts for him for now.",
  cm="Owen back from rehab next week - no evening on-call for him per HR")
P(H, "Nia Roberts (NHS 485 777 3457) has epilepsy; the flashing-banner test must not run on her machine.",
  cfg='patient: "Nia Roberts"\nnhs_number: "485 777 3457"\ncondition: epilepsy', chk=[("nhs", "485 777 3457")])
P(H, "Joan Whitley's Medicare number is 2953 71846 1 and she is on the cardiology waiting list.",
  cm="Joan Whitley - Medicare 2953 71846 1 - cardiology waitlist")
P(H, "Daniel told me his bipolar medication makes him drowsy in the mornings, so he takes late shifts.",
  cm="Daniel's bipolar meds make him drowsy mornings - keep him on late shifts")

# ---- location / network ---------------------------------------------------
P(L, "Aidan's home router is 86.14.203.77 (Virgin Media), with port 8443 forwarded to his NAS.",
  cm="Aidan's home router: 86.14.203.77 (Virgin Media), 8443 forwarded to his NAS")
P(L, "The geofence test is centred on Becky Shaw's house at 53.47912, -2.24387.",
  py="HOME = (53.47912, -2.24387)  # Becky Shaw's house, used for the geofence test")
P(L, "Lukas Brandt's laptop MAC is 3c:22:fb:9a:41:d7; whitelist it on the guest VLAN.",
  cm="whitelist Lukas Brandt's laptop MAC 3c:22:fb:9a:41:d7 on the guest VLAN")
P(L, "Nadia usually works from her flat at 51.52371, -0.07618 on Fridays.",
  cm="Nadia's flat (Fridays): 51.52371, -0.07618")
P(L, "The admin API only allows 73.158.42.190, which is Greg Olsen's home connection in Sacramento.",
  py='ALLOWED_IPS = ["73.158.42.190"]  # Greg Olsen\'s home connection in Sacramento')
P(L, "The last location ping from Omar Farouk's phone was 40.74183, -73.98972 at 22:14.",
  cm="last location ping from Omar Farouk's phone: 40.74183, -73.98972 at 22:14")
P(L, "SSH is only allowed from 81.157.22.104, Fiona Campbell's home broadband.",
  cfg="ssh_allow_from: 81.157.22.104  # Fiona Campbell, home broadband")
P(L, "Jurgen's home server (Tailscale 100.101.42.7, public 91.64.118.203) hosts the package mirror.",
  cm="mirror runs on Jurgen's home server: tailscale 100.101.42.7 / public 91.64.118.203")
P(L, "Ines Pereira's devices are f4:0f:24:1a:9c:e3 (iPhone) and a8:66:7f:0b:52:d1 (MacBook).",
  py='devices = {"ines-iphone": "f4:0f:24:1a:9c:e3", "ines-macbook": "a8:66:7f:0b:52:d1"}')
P(L, "The Raspberry Pi in Tom Whitfield's garage is reachable at 92.233.47.18 on port 2222.",
  sh="ssh -p 2222 pi@92.233.47.18  # Tom Whitfield's house, Pi in the garage")

# ---- account / profile ----------------------------------------------------
P(AP, "Maya Lindqvist's personal Instagram is @maya.lindqvist.runs; customers keep finding her there.",
  cm="Maya Lindqvist's personal insta is @maya.lindqvist.runs")
P(AP, "The test account devon_k_1992 (user id 88213457) belongs to Devon Kerr himself.",
  py='TEST_ACCOUNT = {"username": "devon_k_1992", "user_id": 88213457, "display_name": "Devon Kerr"}')
P(AP, "Customer account FH-20931 (Rosa Ibanez, login rosa.ibanez) has the beta flag enabled.",
  cm="FH-20931 = Rosa Ibanez (login rosa.ibanez), beta flag on")
P(AP, "Security answers for the shared vendor account: first pet Biscuit, mother's maiden name Kowalczyk.",
  cm="vendor account security answers: first pet 'Biscuit', mother's maiden name 'Kowalczyk'")
P(AP, "The anonymous Reddit reviewer u/quietfern_throwaway is actually Jen Alvarez from support.",
  cm="u/quietfern_throwaway on reddit is Jen Alvarez from support")
P(AP, "Liam Porter's personal Steam account is 76561198044812345.",
  cfg="steam_id: \"76561198044812345\"  # Liam Porter's personal account")
P(AP, "The creator @ayo_builds is Ayodele Bankole, born 2 October 1998, 18.4k followers.",
  py='profile = {"handle": "@ayo_builds", "real_name": "Ayodele Bankole", "followers": 18400, "dob": "1998-10-02"}')
P(AP, "Nico Ferri's dating-app handle is nico_on_bikes; please stop posting it in the random channel.",
  cm="Nico Ferri's dating app handle is nico_on_bikes - stop posting it in #random")

# ---- device / incident ----------------------------------------------------
P(DI, "Laptop serial C02ZK4JHMD6R is assigned to Tomas Beck; it was reported stolen from his car on 14 May.",
  cm="C02ZK4JHMD6R (Tomas Beck's laptop) reported stolen from his car 14 May")
P(DI, "Incident 2024-117: Grace Mensah lost her phone (IMEI 352908112847767) on the 38 bus; remote wipe pending.",
  cm="incident 2024-117: Grace Mensah lost her phone (IMEI 352908112847767) on the 38 bus - remote wipe pending",
  chk=[("luhn", "352908112847767")])
P(DI, "YubiKey serial 18442907 belongs to Haruto Sato; revoke it, he left last week.",
  cm="revoke YubiKey 18442907 (Haruto Sato, left last week)")
P(DI, "The kiosk tablet PF3KX9QZ is checked out to Elif Yilmaz for home use.",
  cfg="device_owner: Elif Yilmaz\ndevice_serial: PF3KX9QZ")
P(DI, "Security incident SEC-311: Mark Doyle's workstation WS-0417 was infected after he opened a fake invoice; his account was disabled on 12 February.",
  cm="SEC-311: Mark Doyle's WS-0417 infected via fake invoice, account disabled 12 Feb")
P(DI, "Asset BW-00812 (HP serial 5CG0381QWL) was issued to Ruth Adeyemi on 4 September 2023.",
  py='asset = {"tag": "BW-00812", "serial": "5CG0381QWL", "owner": "Ruth Adeyemi", "issued": "2023-09-04"}')
P(DI, "The parking integration test uses Priya Raman's own car, VIN 5YJ3E1EA7KF317462, plate KX19 WPL.",
  cm="VIN 5YJ3E1EA7KF317462 / KX19 WPL is Priya Raman's own car - used by the parking test")

# ---- media / message content ----------------------------------------------
P(MC, "DM from Chloe to Sam at 23:41: 'I can't keep covering for you with Mark, tell him about the gambling or I will.'",
  cm="DM Chloe -> Sam 23:41: 'I can't keep covering for you with Mark, tell him about the gambling or I will.'")
P(MC, "Voicemail for Helen Brooks from Dr. Patel's office: 'your biopsy results are in, please call us back today.'",
  cm="voicemail for Helen Brooks from Dr. Patel's office: 'your biopsy results are in, please call us back today'")
P(MC, "Private album with Lily Chen's wedding photos, family only: https://photos.app.goo.gl/Xq7PbN3kLm9Rt2Vw8",
  cm="Lily Chen's private wedding album (family only): https://photos.app.goo.gl/Xq7PbN3kLm9Rt2Vw8")
P(MC, "Email from Jana Novak, 9 January: 'I'm interviewing at Northwind next week, please don't tell Viktor yet.'",
  cm="from Jana Novak, 9 Jan: 'I'm interviewing at Northwind next week, please don't tell Viktor yet.'")
P(MC, "Becca Lowe texted from 07700 900285: 'running late, the custody hearing got moved to 2pm'.",
  py="SAMPLE_SMS = \"Becca Lowe (07700 900285): running late, the custody hearing got moved to 2pm\"")
P(MC, "From Karen Ellis's recorded call, 14:02: 'we're separating, so send the payslips to my mum's address from now on.'",
  cm="Karen Ellis call recording 14:02: 'we're separating, send the payslips to my mum's address from now on'")

# ---- ancillary (personal life) --------------------------------------------
P(AN, "Ruth is going through a divorce at the moment, so please go easy on the review deadlines.",
  cm="Ruth is going through a divorce right now - go easy on the review deadlines")
P(AN, "Ahmed Karimi's kids are at Riverside Primary, so he leaves at 15:00 for pick-up on weekdays.",
  cm="Ahmed Karimi leaves 15:00 weekdays - school pick-up at Riverside Primary")
P(AN, "Yosef keeps Shabbat, so never schedule his releases on a Friday evening.",
  cm="Yosef keeps Shabbat, don't schedule his releases Friday evening")
P(AN, "Dmitri's H-1B expires in May and his green card interview is still pending, so don't list him as release owner.",
  cm="Dmitri's H-1B expires in May, green card interview pending - not the release owner")
P(AN, "Jordan isn't out at work yet, so don't mention his boyfriend in stand-up.",
  cm="Jordan isn't out at work yet - don't mention his boyfriend in stand-up")
P(AN, "Stefan Wolf is the union rep for the warehouse staff and will join the strike on the 19th.",
  cm="Stefan Wolf = warehouse union rep, joining the strike on the 19th")

# Statement forms for prose items defined above without one (key: unique part of the item's doc text).
EXTRA_PY = {
    "Kwame Asante": 'reporter = ("Kwame Asante", "kwame.asante@outlook.com", "07700 900418")',
    "Tomasz Wierzbicki": 'ONCALL_PHONE = "+48 601 772 349"  # Tomasz Wierzbicki, personal mobile',
    "Lucia Ferraro": 'EMERGENCY_CONTACTS = {"Lucia Ferraro": ("Marco Ferraro", "+39 347 552 1908")}',
    "Raj Malhotra": 'RAJ_CELL = "(628) 304-7719"  # Raj Malhotra, call before merging',
    "Olivia Chen": 'SIGNATURE = "Olivia Chen | Senior Accountant | olivia.chen@harrowgate-legal.com | +1 (312) 846-2290"',
    "Evelyn Hartley": 'callback = {"customer": "Evelyn Hartley", "email": "evelyn.hartley@btinternet.com", "phone": "01632 960514"}',
    "Amara Nwosu": 'WHATSAPP = {"Amara Nwosu": "+234 803 415 2270"}',
    "Marguerite Dubois": 'TRANSLATORS = {"fr": ("Marguerite Dubois", "m.dubois@orange.fr", "06 14 27 83 90")}',
    "Thabo Nkosi": 'nda_address = "Thabo Nkosi, 27 Jan Smuts Ave, Parktown, Johannesburg 2193"',
    "lena.fischer84": 'NOTIFY_EMAIL = "lena.fischer84@gmx.de"  # Lena\'s private address',
    "Chris Tanaka": 'ALERT_TO = ("Chris Tanaka", "chris.tanaka@icloud.com")',
    "Wei Zhang": 'customer_contact = {"name": "Wei Zhang", "direct_line": "+86 138 1047 2295"}',
    "Sade Okonkwo": 'AUTHOR = "Sade Okonkwo <sade.okonkwo@proton.me>"',
    "Diego Ramirez": 'SMS_TO = "+52 55 3418 2297"  # Diego Ramirez, personal phone',
    "Ingrid Solberg": 'OWNER = ("Ingrid Solberg", "ingrid.solberg@brambleworks.io", "+47 934 18 622")',
    "Paul Ferreira": 'failed_refund = {"customer": "Paul Ferreira", "card": "4319 5052 5173 3347", "exp": "11/26"}',
    "Mr. Okafor": 'amex = "3429 463317 06243"  # Chidi Okafor, exp 03/28, charged twice',
    "Tobias Kr": 'TOBIAS_IBAN = "DE31 6727 0279 1316 4729 82"',
    "Callum Reid to": 'contractor_bank = {"name": "Callum Reid", "iban": "GB90 NWBK 3820 4209 2235 60",\n    "sort_code": "38-20-42", "account": "09223560"}',
    "Daan Visser": 'payout_iban = "NL41 INGB 8488 4156 41"  # Daan Visser, new account',
    "Javier Molina": 'deposit_iban = "ES77 6251 6116 3274 9143 9854"  # Javier Molina, Valencia flat',
    "Pieter Claes": 'reimburse("Pieter Claes", iban="BE46 9974 7717 6176")',
    "Urs Meier": 'RENT_DEBIT_IBAN = "CH05 0269 9648 8542 8796 1"  # Urs Meier',
    "offer for Jonas": 'offer = {"candidate": "Jonas Eriksen", "base_eur": 96500, "bonus_pct": 12}',
    "Tyrone Jackson": 'direct_deposit = {"name": "Tyrone Jackson", "routing": "211274450", "account": "4839201756"}',
    "Dwayne Carter": 'FUEL_CARD = "5560119787600294"  # Dwayne Carter',
    "Ines Carvalho paid": 'disputed = ("Ines Carvalho", "2221 3898 9120 0319")',
    "Kenji Watanabe": 'new_card = {"holder": "Kenji Watanabe", "number": "2720401444609940", "exp": "12/28"}',
    "Marcus Bell": 'card = "6011424408116198"  # Marcus Bell, fails AVS',
    "Yuki Tanaka": 'jcb_card = ("Yuki Tanaka", "3586 9258 3183 5339", "05/27")',
    "W-2": 'w2 = {"employee": "Priya Raman", "year": 2023, "wages_usd": 142380}',
    "treasury wallet": 'SEED_PHRASE = "orbit maple velvet canyon drift lemon shadow pilot fabric ember quiet harvest"',
    "Shauna Pierce": 'check = {"name": "Shauna Pierce", "ssn": "523-41-7789", "result": "clear"}',
    "starter Callum Reid": 'NI_NUMBER = "JT 62 41 85 C"  # Callum Reid',
    "Aisha Rahman": 'passport = ("Aisha Rahman", "533918274", "2031-06-14")',
    "Etienne Gagnon": 'sin = "527 319 461"  # Etienne Gagnon, for the T4',
    "Alvaro Ruiz": 'DISPUTE_DNI = "71830264E"  # Alvaro Ruiz',
    "Sarah Morgan": 'LICENCE_NO = "MORGA753116SM9IJ"  # Sarah Morgan',
    "Felix Bauer": 'id_doc = {"holder": "Felix Bauer", "id_card": "L01X00T47", "born": "1990-04-12"}',
    "Rebecca Thornton": 'staff = {"name": "Rebecca Thornton", "dob": "1979-05-30", "number": "004519"}',
    "Kofi Boateng": 'beneficiary = {"name": "Kofi Boateng", "dob": "1988-03-03", "ghana_card": "GHA-721458396-4"}',
    "Dmitri Volkov": 'permit = {"holder": "Dmitri Volkov", "number": "RP 4417 20981", "valid_until": "2026-01"}',
    "Owen Pritchard": 'owen_passport = "GBR 551730492"  # Owen Pritchard',
    "Mia from QA": 'LEAVE_NOTES = {"Mia": "pregnant, due mid-July - keep off the datacenter move"}',
    "Carlos has": 'ALLERGIES = {"Carlos": "severe peanut allergy, EpiPen in desk drawer 2"}',
    "Nia Roberts": 'patient = ("Nia Roberts", "485 777 3457", "epilepsy")',
    "Joan Whitley": 'medicare = {"name": "Joan Whitley", "number": "2953 71846 1", "waitlist": "cardiology"}',
    "Joanna's sick": 'sick_leave = {"employee": "Joanna", "reason": "migraine with aura", "days": 14}',
    "Aidan's home": 'NAS_URL = "https://86.14.203.77:8443"  # Aidan\'s home router (Virgin Media)',
    "Lukas Brandt": 'GUEST_VLAN_ALLOW = ["3c:22:fb:9a:41:d7"]  # Lukas Brandt\'s laptop',
    "Nadia usually": 'NADIA_HOME = (51.52371, -0.07618)  # her flat, Fridays',
    "Omar Farouk": 'last_ping = {"user": "Omar Farouk", "lat": 40.74183, "lon": -73.98972, "at": "22:14"}',
    "Fiona Campbell": 'SSH_ALLOW = "81.157.22.104"  # Fiona Campbell, home broadband',
    "Jurgen's home": 'MIRROR_HOST = "100.101.42.7"  # Jurgen\'s home server, public 91.64.118.203',
    "Tom Whitfield": 'PI_HOST = ("92.233.47.18", 2222)  # Tom Whitfield\'s garage',
    "Maya Lindqvist": 'SUPPORT_NOTES["maya"] = "personal instagram @maya.lindqvist.runs"',
    "Rosa Ibanez": 'BETA_USERS = {"FH-20931": "rosa.ibanez"}  # Rosa Ibanez',
    "Liam Porter": 'STEAM_ID = 76561198044812345  # Liam Porter, personal account',
    "quietfern": 'ALT_ACCOUNTS = {"u/quietfern_throwaway": "Jen Alvarez"}',
    "Tomas Beck": 'STOLEN_DEVICES = {"C02ZK4JHMD6R": "Tomas Beck"}',
    "Grace Mensah": 'lost_device = {"owner": "Grace Mensah", "imei": "352908112847767", "ticket": "2024-117"}',
    "YubiKey serial": 'REVOKE_YUBIKEYS = [18442907]  # Haruto Sato, left last week',
    "parking integration": 'TEST_VEHICLE = {"vin": "5YJ3E1EA7KF317462", "plate": "KX19 WPL", "owner": "Priya Raman"}',
    "DM from Chloe": 'msg = "Chloe -> Sam 23:41: I can\'t keep covering for you with Mark, tell him about the gambling or I will."',
    "Jana Novak": 'EXAMPLE_EMAIL = "From Jana Novak: I\'m interviewing at Northwind next week, please don\'t tell Viktor yet."',
    "Ahmed Karimi": 'EARLY_FINISH = {"Ahmed Karimi": "15:00 school pick-up, Riverside Primary"}',
    "Yosef keeps": 'NO_RELEASE_WINDOWS["yosef"] = "Friday sunset to Saturday night (Shabbat)"',
}
for _key, _py in EXTRA_PY.items():
    _hits = [it for it in POOL if _key in it["doc"]]
    assert len(_hits) == 1 and _hits[0]["py"] is None, _key
    _hits[0]["py"] = _py

CATEGORY_QUOTA = {
    "authentication": 120, "contact": 45, "financial": 45, "identification": 30,
    "health": 15, "location_network": 15, "account_profile": 10,
    "device_incident": 8, "media_content": 6, "ancillary": 6,
}
MAX_ITEM_USES = 3

# ---------------------------------------------------------------------------
# Checksums used for validation
# ---------------------------------------------------------------------------


def luhn_ok(s: str) -> bool:
    d = [int(c) for c in s if c.isdigit()]
    tot = 0
    for i, x in enumerate(reversed(d)):
        if i % 2:
            x *= 2
            if x > 9:
                x -= 9
        tot += x
    return len(d) >= 9 and tot % 10 == 0


def iban_ok(s: str) -> bool:
    s = s.replace(" ", "").upper()
    lengths = {"DE": 22, "GB": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27, "BE": 16,
               "IE": 22, "CH": 21, "PL": 28}
    if lengths.get(s[:2]) != len(s):
        return False
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1


def aba_ok(s: str) -> bool:
    d = [int(c) for c in s]
    return len(d) == 9 and (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0


def nhs_ok(s: str) -> bool:
    d = [int(c) for c in s if c.isdigit()]
    if len(d) != 10:
        return False
    ck = 11 - sum(x * (10 - i) for i, x in enumerate(d[:9])) % 11
    ck = 0 if ck == 11 else ck
    return ck != 10 and ck == d[9]


def dni_ok(s: str) -> bool:
    return len(s) == 9 and "TRWAGMYFPDXBNJZSQVHLCKE"[int(s[:8]) % 23] == s[8]


def jwt_ok(s: str) -> bool:
    parts = s.split(".")
    if len(parts) != 3:
        return False
    for p in parts[:2]:
        json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    return True


def basic_ok(s: str) -> bool:
    return ":" in base64.b64decode(s).decode()


CHECKS = {"luhn": luhn_ok, "iban": iban_ok, "aba": aba_ok, "nhs": nhs_ok, "dni": dni_ok,
          "jwt": jwt_ok, "basic": basic_ok}

# ---------------------------------------------------------------------------
# Source collection
# ---------------------------------------------------------------------------
LITERAL_LINE = re.compile(
    r"""^\s*(?:[rbuf]*"[^"]*"|[rbuf]*'[^']*'|-?[\d.xXa-fA-F_]+|True|False|None)\s*"""
    r"""(?::\s*(?:[rbuf]*"[^"]*"|[rbuf]*'[^']*'|-?[\d.]+|True|False|None|[\[{(]))?\s*[,\]})]*\s*$""")


class Src:
    def __init__(self, pkg, rel, kind, lines, lo=0):
        self.pkg, self.rel, self.kind, self.lines, self.lo = pkg, rel, kind, lines, lo
        self.text = "".join(lines)
        self.occupied = [False] * len(lines)
        self.nchunks = 0
        self._py = None

    def cap(self):
        n = len("".join(self.lines[self.lo:]))
        if n < LO:
            return 0
        return min(MAX_PER_FILE, max(1, n // 1750))


def read_text(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    if b"\x00" in raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\t\f")
    if bad > len(text) * 0.01:
        return None
    return text


def is_data_table(text):
    ls = [ln for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if not ls:
        return True
    return sum(1 for ln in ls if LITERAL_LINE.match(ln)) / len(ls) > DATA_TABLE_FRACTION


def dist_info(prefix):
    hits = [p for p in glob.glob(os.path.join(SP, prefix + "-*.dist-info"))
            if re.fullmatch(re.escape(prefix) + r"-\d[^-]*\.dist-info", os.path.basename(p))]
    if len(hits) != 1:
        raise SystemExit(f"expected one dist-info for {prefix}, found {hits}")
    return hits[0]


def collect():
    code, docs, skipped, versions = defaultdict(list), [], [], {}
    for pkg, prefix in PACKAGES:
        root = os.path.join(SP, pkg)
        if not os.path.isdir(root):
            raise SystemExit(f"package directory missing: {root}")
        di = dist_info(prefix)
        meta_text = read_text(os.path.join(di, "METADATA"))
        head, _, _ = meta_text.partition("\n\n")
        ver = re.search(r"^Version: (.+)$", head, re.M).group(1).strip()
        name = re.search(r"^Name: (.+)$", head, re.M).group(1).strip()
        ctype = re.search(r"^Description-Content-Type: (.+)$", head, re.M)
        versions[pkg] = (name, ver)
        mlines = meta_text.splitlines(keepends=True)
        body_start = head.count("\n") + 2
        body = "".join(mlines[body_start:])
        if ctype and "markdown" in ctype.group(1):
            mkind = "md"
        elif ctype and "rst" in ctype.group(1):
            mkind = "rst"
        else:
            mkind = "md" if re.search(r"^```", body, re.M) else "rst"
        docs.append(Src(pkg, os.path.relpath(os.path.join(di, "METADATA"), SP), mkind, mlines, body_start))
        for dp, dns, fns in os.walk(root):
            dns[:] = sorted(d for d in dns if d != "__pycache__")
            for fn in sorted(fns):
                path = os.path.join(dp, fn)
                rel = os.path.relpath(path, SP)
                if fn.endswith(".py"):
                    text = read_text(path)
                    if text is None:
                        skipped.append((rel, "binary/undecodable"))
                        continue
                    if len(text) >= LO and is_data_table(text):
                        skipped.append((rel, "data table"))
                        continue
                    code[pkg].append(Src(pkg, rel, "py", text.splitlines(keepends=True)))
                elif fn.endswith(DOC_EXT) and pkg not in PY_ONLY:
                    text = read_text(path)
                    if text is None:
                        skipped.append((rel, "binary/undecodable"))
                        continue
                    kind = "md" if fn.endswith(".md") else "rst"
                    docs.append(Src(pkg, rel, kind, text.splitlines(keepends=True)))
    return code, docs, skipped, versions


# ---------------------------------------------------------------------------
# Python analysis: where can a statement / comment / docstring line go?
# ---------------------------------------------------------------------------
BLOCK_CONT = ("else", "elif", "except", "finally", "case")


def lead(s):
    return s[: len(s) - len(s.lstrip(" \t"))]


class PyInfo:
    """Boundary b means "insert before line b" (0-based)."""

    def __init__(self, text, lines):
        n = len(lines)
        self.lines = lines
        self.in_string = [False] * (n + 1)
        self.stmt_ok = [False] * (n + 1)
        self.logical = []  # (start, end, first, last)
        depth = 0
        start = first = last = None
        for t in tokenize.generate_tokens(io.StringIO(text).readline):
            tt = t.type
            if tt == tokenize.STRING:
                a, z = t.start[0] - 1, t.end[0] - 1
                for b in range(a + 1, z + 1):
                    self.in_string[b] = True
            if tt == tokenize.OP:
                if t.string in "([{":
                    depth += 1
                elif t.string in ")]}":
                    depth -= 1
            if tt == tokenize.NEWLINE:
                r = t.start[0]
                if r <= n:
                    self.stmt_ok[r] = True
                if start is not None:
                    self.logical.append((start, t.start[0] - 1, first, last))
                start = first = last = None
            elif tt == tokenize.NL:
                if depth == 0 and t.start[0] <= n:
                    self.stmt_ok[t.start[0]] = True
            elif tt in (tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
                        tokenize.ENDMARKER):
                pass
            else:
                if start is None:
                    start, first = t.start[0] - 1, t.string
                last = t.string
        self.starts = [lg[0] for lg in self.logical]
        self.ends = [lg[1] for lg in self.logical]
        self.doc = {}  # boundary -> indent for docstring sentences
        self.doc_starts = set()  # first lines of docstrings (no statement right before them)
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
                f = node.body[0]
                if (isinstance(f, ast.Expr) and isinstance(f.value, ast.Constant)
                        and isinstance(f.value.value, str)):
                    self.doc_starts.add(f.lineno - 1)
                if (isinstance(f, ast.Expr) and isinstance(f.value, ast.Constant)
                        and isinstance(f.value.value, str) and f.end_lineno > f.lineno):
                    a, z = f.lineno - 1, f.end_lineno - 1
                    self.doc_starts.add(a)
                    body = [ln for ln in lines[a + 1: z + 1] if ln.strip()]
                    if not body:
                        continue
                    base = min((lead(ln) for ln in body), key=len)
                    for b in range(a + 1, z + 1):
                        prev, nxt = lines[b - 1], lines[b]
                        if prev.rstrip("\n").endswith("\\"):
                            continue
                        # only at paragraph/sentence breaks, never in the middle of a wrapped sentence
                        if not (not prev.strip() or not nxt.strip() or b - 1 == a
                                or nxt.strip() in ('"""', "'''") or prev.rstrip().endswith((".", "!", "?"))):
                            continue
                        ok = True
                        for ln, is_first in ((prev, b - 1 == a), (nxt, False)):
                            s = ln.strip()
                            if not s:
                                continue
                            if s.startswith((">>>", "...")) or (not is_first and lead(ln) != base):
                                ok = False
                        if ok:
                            self.doc[b] = base

    def prev_logical(self, b):
        i = bisect.bisect_right(self.ends, b - 1) - 1
        return self.logical[i] if i >= 0 else None

    def next_logical(self, b):
        i = bisect.bisect_left(self.starts, b)
        return self.logical[i] if i < len(self.logical) else None

    def contexts(self, b):
        """Return list of (ctx, indent) usable at boundary b."""
        lines = self.lines
        if b in self.doc:
            return [("doc", self.doc[b])]
        if self.in_string[b]:
            return []
        if lines[b - 1].rstrip("\n").endswith("\\") and not lines[b - 1].lstrip().startswith("#"):
            return []
        out = []
        if self.stmt_ok[b]:
            p, nx = self.prev_logical(b), self.next_logical(b)
            ind_n = lead(lines[nx[0]]) if nx else None
            ind_p = lead(lines[p[0]]) if p else ""
            cm_ind = ind_n if ind_n is not None else ind_p
            out.append(("cm", cm_ind))
            if (p is None or p[2] != "@") and not (nx is not None and nx[0] in self.doc_starts):
                if p is not None and p[3] == ":":
                    if ind_n is not None and len(ind_n) > len(ind_p):
                        out.append(("py", ind_n))
                elif nx is not None and nx[2] in BLOCK_CONT:
                    out.append(("py", ind_p))
                else:
                    out.append(("py", ind_n if ind_n is not None else ind_p))
        else:
            out.append(("cm", lead(lines[b]) if lines[b].strip() else lead(lines[b - 1])))
        return out


def py_info(src):
    """Analysis of a .py file (must compile) or of a docs snippet (src.snippet: must parse)."""
    if src._py is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if getattr(src, "snippet", False):
                    ast.parse(src.text)
                else:
                    compile(src.text, src.rel, "exec", dont_inherit=True)
                src._py = PyInfo(src.text, src.lines)
        except Exception:  # noqa: BLE001 - any failure just disables insertion
            src._py = False
    return src._py


# ---------------------------------------------------------------------------
# Markdown / reST analysis
# ---------------------------------------------------------------------------
CMD_LINE = re.compile(r"^\s*(\$ |pip |pip3 |python|cfn-lint|tox|export |curl |git |docker |aws |npm |brew |"
                      r"pytest|cd |sam |make |conda |ipython)")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
YAML_KEY = re.compile(r"^\s*[A-Za-z_][\w.-]*:(\s|$)")


def guess_block_lang(body_lines):
    text = textwrap.dedent("".join(body_lines))
    if any(ln.lstrip().startswith(">>>") for ln in body_lines):
        return "pycon"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
        if re.search(r"[(=]|\bimport\b", text):
            return "py"
    except SyntaxError:
        pass
    if any(CMD_LINE.match(ln) for ln in body_lines):
        return "sh"
    return None


def norm_lang(lang, body):
    lang = (lang or "").lower()
    if lang in ("python", "py", "python3", "pycon"):
        return "pycon" if any(ln.lstrip().startswith(">>>") for ln in body) else "py"
    if lang in ("yaml", "yml"):
        return "yaml"
    if lang in ("shell", "bash", "sh", "console", "shell-session", "zsh"):
        return "sh"
    if lang == "":
        return guess_block_lang(body)
    return None


def is_prose_line(ln, kind):
    s = ln.rstrip("\n")
    if not s.strip() or s[0] in " \t":
        return False
    st = s.strip()
    if re.fullmatch(r"[=\-~^*#+`'\".:_]{3,}", st):
        return False
    if re.match(r"^(#|[-*+] |\d+[.)] |\||<|>|\[[^\]]*\]:|\.\. |:|!\[|\[!\[)", st):
        return False
    if st.endswith(("::", ":")) or st.startswith("```"):
        return False
    return True


class DocInfo:
    def __init__(self, src):
        lines, lo, n = src.lines, src.lo, len(src.lines)
        self.blocks = {}  # boundary -> (lang, block_lines_range, indent)
        self.prose = {}   # boundary -> "A" (after blank line) / "B" (end of paragraph)
        in_block = [False] * (n + 1)
        spans = []
        if src.kind == "md":
            i = lo
            while i < n:
                m = FENCE.match(lines[i])
                if m:
                    marker = m.group(2)
                    j = i + 1
                    while j < n and not lines[j].lstrip().startswith(marker[:3]):
                        j += 1
                    if j < n:
                        spans.append((i, j, m.group(3)))
                        i = j + 1
                        continue
                i += 1
            # indented code blocks (4+ spaces) made of shell commands
            i = lo
            while i < n:
                if (lines[i].startswith("    ") and lines[i].strip() and i > lo and not lines[i - 1].strip()
                        and not any(a < i <= z for a, z, _ in spans)):
                    j = i
                    while j + 1 < n and lines[j + 1].strip() and lines[j + 1].startswith("    "):
                        j += 1
                    body = lines[i: j + 1]
                    if all(CMD_LINE.match(ln) for ln in body):
                        spans.append((i - 1, j + 1, "sh-indented"))
                    i = j + 1
                    continue
                i += 1
        else:  # reST literal blocks and code-block directives
            for i in range(lo, n):
                s = lines[i].rstrip("\n")
                m = re.match(r"^(\s*)\.\. (?:code-block|code|sourcecode)::\s*(\w*)", s)
                if not (m or (s.endswith("::") and not re.match(r"^\s*\.\. ", s))):
                    continue
                d = len(lead(s))
                lang = m.group(2) if m else ""
                j = i + 1
                while j < n and (not lines[j].strip() or re.match(r"^\s+:[\w-]+:", lines[j])):
                    j += 1
                if j >= n or len(lead(lines[j])) <= d:
                    continue
                bs = j
                be = j
                k2 = j
                while k2 < n and (not lines[k2].strip() or len(lead(lines[k2])) > d):
                    if lines[k2].strip():
                        be = k2
                    k2 += 1
                spans.append((bs - 1, be + 1, lang))
        for a, z, lang in spans:
            body = lines[a + 1: z]
            lg = "sh" if lang == "sh-indented" else norm_lang(lang, body)
            for b in range(a + 1, z + 1):
                in_block[b] = True
            if lg is None:
                continue
            nonblank = [ln for ln in body if ln.strip()]
            if not nonblank:
                continue
            ind = min((lead(ln) for ln in nonblank), key=len)
            for b in range(a + 1, z + 1):
                self.blocks[b] = (lg, (a + 1, z), ind)
        for b in range(lo + 1, n):
            if in_block[b] or b in self.blocks:
                continue
            prev, nxt = lines[b - 1], lines[b]
            if not prev.strip() and nxt.strip() and nxt[0] not in " \t" and b - 2 >= lo \
                    and not re.fullmatch(r"[=\-~^*#+`'\".:_]{3,}", nxt.strip()) and not in_block[b - 1] \
                    and not lines[b - 2].rstrip().endswith(":"):
                self.prose[b] = "A"
            elif is_prose_line(prev, src.kind) and not nxt.strip() and not in_block[b - 1]:
                self.prose[b] = "B"


def doc_info(src):
    if src._py is None:
        src._py = DocInfo(src)
    return src._py


# ---------------------------------------------------------------------------
# Rendering an item at a boundary
# ---------------------------------------------------------------------------

def indent_lines(text, ind, prefix=""):
    return "".join(ind + prefix + ln + "\n" for ln in text.split("\n"))


def comment_lines(text, ind):
    return "".join((ind + "# " + ln).rstrip() + "\n" for ln in text.split("\n"))


def candidates_py(src, b, item, rng):
    """(form, rendered, tag) options for a .py boundary; tag "line" = between logical lines."""
    info = py_info(src)
    out = []
    ctxs = info.contexts(b)
    between = any(c == "py" for c, _ in ctxs) or bool(info.stmt_ok[b])
    for ctx, ind in ctxs:
        if ctx == "doc":
            out.append(("docstring", indent_lines(item["doc"], ind), "doc"))
        elif ctx == "py" and item["py"]:
            out.append(("statement", indent_lines(item["py"], ind), "line"))
        elif ctx == "cm":
            out.append(("comment", comment_lines(item["cm"], ind), "line" if between else "bracket"))
    rng.shuffle(out)
    return out


def verify_py(src, b, form, rendered, item):
    new = "".join(src.lines[:b]) + rendered + "".join(src.lines[b:])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not getattr(src, "snippet", False):
                compile(new, src.rel, "exec", dont_inherit=True)
            tree = ast.parse(new)
    except Exception:  # noqa: BLE001
        return False
    if form == "statement":
        return any(isinstance(nd, ast.stmt) and nd.lineno == b + 1 for nd in ast.walk(tree))
    if form == "docstring":
        first = item["doc"].split("\n")[0]
        return any(isinstance(nd, ast.Constant) and isinstance(nd.value, str) and first in nd.value
                   for nd in ast.walk(tree))
    if form == "comment":
        want = rendered.split("\n")[0].strip()
        try:
            for t in tokenize.generate_tokens(io.StringIO(new).readline):
                if t.type == tokenize.COMMENT and t.start[0] == b + 1:
                    return t.string.strip() == want
        except Exception:  # noqa: BLE001
            return False
    return False


def single(s):
    return s is not None and "\n" not in s


def candidates_doc(src, b, item, rng):
    info = doc_info(src)
    lines = src.lines
    out = []
    if b in info.prose:
        text = item["doc"]
        out.append(("prose", text + "\n" + ("\n" if info.prose[b] == "A" else "")))
        return out
    if b not in info.blocks:
        return out
    lang, (bs, be), ind = info.blocks[b]
    nxt = lines[b] if b < len(lines) else ""
    prev = lines[b - 1]
    if lang == "pycon":
        if nxt.lstrip().startswith(">>> ") and not prev.rstrip().endswith(":"):
            p = lead(nxt)
            opts = []
            if single(item["py"]):
                opts.append(("doc-code-py", p + ">>> " + item["py"] + "\n"))
            if single(item["cm"]):
                opts.append(("doc-code-comment", p + ">>> # " + item["cm"] + "\n"))
            if len(opts) == 2 and rng.random() < 0.2:
                opts.reverse()
            out.extend(opts)
        return out
    if lang == "py":
        body = lines[bs:be]
        snippet = textwrap.dedent("".join(body))
        ind_len = min(len(lead(ln)) for ln in body if ln.strip())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(snippet)
            sub_lines = snippet.splitlines(keepends=True)
            fake = Src("", "<snippet>", "py", sub_lines)
            fake.snippet = True
            info2 = py_info(fake)
        except Exception:  # noqa: BLE001
            info2 = False
        if info2:
            rb = b - bs
            if 0 < rb < len(sub_lines):
                for f, r, _tag in candidates_py(fake, rb, item, rng):
                    if f == "docstring":
                        continue
                    if verify_py(fake, rb, f, r, item):
                        pad = " " * ind_len
                        out.append(("doc-code-" + ("py" if f == "statement" else "comment"),
                                    "".join(pad + ln if ln.strip() else ln for ln in r.splitlines(keepends=True))))
        out.sort(key=lambda o: o[0] != "doc-code-py")
        if len(out) > 1 and rng.random() < 0.2:
            out.reverse()
        return out
    if lang == "yaml":
        if not nxt.strip():
            return out
        ni = lead(nxt)
        # inside a block scalar?  look for the nearest shallower line
        for k2 in range(b - 1, bs - 1, -1):
            if lines[k2].strip() and len(lead(lines[k2])) < len(ni):
                if re.search(r":\s*[|>][-+]?\s*$", lines[k2]):
                    return out
                break
        opts = []
        if YAML_KEY.match(nxt) and item["cfg"]:
            opts.append(("doc-code-config", indent_lines(item["cfg"], ni)))
        opts.append(("doc-code-comment", comment_lines(item["cm"], ni)))
        if len(opts) == 2 and rng.random() < 0.2:
            opts.reverse()
        return opts
    if lang == "sh":
        ref = nxt if nxt.strip() else prev
        p = lead(ref) if ref.strip() else ind
        dollar = "$ " if (prev.lstrip().startswith("$ ") or nxt.lstrip().startswith("$ ")) else ""
        opts = []
        if item["sh"]:
            opts.append(("doc-code-shell", indent_lines(item["sh"], p, dollar)))
        opts.append(("doc-code-comment", comment_lines(item["cm"], p)))
        if len(opts) == 2 and rng.random() < 0.2:
            opts.reverse()
        return opts
    return out


# ---------------------------------------------------------------------------
# Chunk cutting
# ---------------------------------------------------------------------------

def slice_text(src, s, e):
    t = "".join(src.lines[s:e])
    return t[:-1] if t.endswith("\n") else t


def cut_window(src, rng, lo, hi):
    """Pick [s, e) of free lines with lo <= len(text) <= hi; start/end on non-blank lines."""
    lines, n = src.lines, len(src.lines)
    starts = [i for i in range(src.lo, n) if not src.occupied[i] and lines[i].strip()]
    if not starts:
        return None
    for _ in range(25):
        s = rng.choice(starts)
        target = rng.randint(lo, hi)
        e, total = s, 0
        while e < n and not src.occupied[e] and total < target:
            total += len(lines[e])
            e += 1
        while e > s and (total - 1 > hi or not lines[e - 1].strip()):
            e -= 1
            total -= len(lines[e])
        if e <= s:
            continue
        ln = len(slice_text(src, s, e))
        if lo <= ln <= hi:
            return s, e
    return None


def occupy(src, s, e):
    for i in range(s, e):
        src.occupied[i] = True
    src.nchunks += 1


def try_clean(src, rng):
    if src.nchunks >= MAX_PER_FILE:
        return None
    w = cut_window(src, rng, LO, HI)
    if w is None:
        return None
    s, e = w
    occupy(src, s, e)
    return {"text": slice_text(src, s, e), "sensitive": False, "category": "none",
            "kind": "long_clean", "source": f"{src.rel}:{s + 1}"}, {"src": src, "s": s, "e": e}


def pick_target(src, item, rng):
    """Which kind of spot to aim for; fall back to any spot if the file has none."""
    if src.kind == "py":
        if item["py"]:
            opts = [("statement", 0.38), ("comment-line", 0.28), ("comment-bracket", 0.06), ("docstring", 0.28)]
        else:
            opts = [("comment-line", 0.5), ("comment-bracket", 0.1), ("docstring", 0.4)]
    else:
        code_p = 0.6 if (item["sh"] or item["cfg"] or item["py"]) else 0.35
        opts = [("code", code_p), ("prose", 1 - code_p)]
    x = rng.random() * sum(w for _, w in opts)
    for name, wt in opts:
        x -= wt
        if x <= 0:
            return name
    return opts[-1][0]


def option_key(src, form, tag):
    if src.kind == "py":
        return "comment-" + tag if form == "comment" else form
    return "prose" if form == "prose" else "code"


def try_insert(src, rng, item):
    if src.nchunks >= MAX_PER_FILE:
        return None
    if src.kind == "py" and not py_info(src):
        return None
    est = len(item["doc"]) + 12
    target = pick_target(src, item, rng)
    for attempt in range(8):
        strict = attempt < 6
        w = cut_window(src, rng, max(400, LO - est), max(500, HI - est))
        if w is None:
            return None
        s, e = w
        bounds = list(range(s + 1, e))
        rng.shuffle(bounds)
        for b in bounds:
            if src.kind == "py":
                opts = candidates_py(src, b, item, rng)
            else:
                opts = [(f, r, "") for f, r in candidates_doc(src, b, item, rng)]
            for form, rendered, tag in opts:
                if strict and option_key(src, form, tag) != target:
                    continue
                if src.kind == "py" and not verify_py(src, b, form, rendered, item):
                    continue
                # adjust the end of the window so the final text fits LO..HI
                e2 = e

                def final(e_):
                    t = "".join(src.lines[s:b]) + rendered + "".join(src.lines[b:e_])
                    return t[:-1] if t.endswith("\n") else t
                txt = final(e2)
                while len(txt) > HI and e2 - 1 > b:
                    e2 -= 1
                    while e2 - 1 > b and not src.lines[e2 - 1].strip():
                        e2 -= 1
                    txt = final(e2)
                while ((len(txt) < LO or not src.lines[e2 - 1].strip())
                       and e2 < len(src.lines) and not src.occupied[e2]):
                    e2 += 1
                    txt = final(e2)
                if not src.lines[e2 - 1].strip() or not (LO <= len(txt) <= HI) or e2 <= b:
                    continue
                occupy(src, s, e2)
                row = {"text": txt, "sensitive": True, "category": item["cat"], "kind": "long_inserted",
                       "source": f"{src.rel}:{s + 1}", "inserted": rendered.strip()}
                return row, {"src": src, "s": s, "e": e2, "b": b, "rendered": rendered,
                             "form": form if src.kind != "py" or form != "comment" else "comment-" + tag,
                             "item": item["id"]}
    return None


# ---------------------------------------------------------------------------
# Allocation
# ---------------------------------------------------------------------------

def item_sequence(rng):
    by_cat = defaultdict(list)
    for it in POOL:
        by_cat[it["cat"]].append(it)
    seq = []
    for cat, q in CATEGORY_QUOTA.items():
        items = list(by_cat[cat])
        if len(items) * MAX_ITEM_USES < q:
            raise SystemExit(f"pool too small for {cat}")
        rng.shuffle(items)
        seq.extend(items[i % len(items)] for i in range(q))
    rng.shuffle(seq)
    return seq


def water_fill(total, weights, caps):
    alloc = {p: 0 for p in weights}
    remaining = total
    active = [p for p in weights if caps[p] > 0]
    while remaining > 0 and active:
        wsum = sum(weights[p] for p in active)
        give = {p: remaining * weights[p] / wsum for p in active}
        progressed = False
        for p in active:
            g = min(int(math.floor(give[p])) or 1, caps[p] - alloc[p], remaining)
            if g > 0:
                alloc[p] += g
                remaining -= g
                progressed = True
            if remaining == 0:
                break
        active = [p for p in active if alloc[p] < caps[p]]
        if not progressed:
            break
    return alloc


def build():
    rng = random.Random(SEED)
    code, docs, skipped, versions = collect()
    seq = item_sequence(rng)
    seq_i = 0
    clean_rows, ins_rows = [], []

    # 1) docs: every doc file, up to MAX_PER_FILE non-overlapping chunks, roles balanced
    doc_order = list(docs)
    rng.shuffle(doc_order)
    for src in doc_order:
        for _ in range(MAX_PER_FILE):
            if src.nchunks >= MAX_PER_FILE:
                break
            want_ins = len(ins_rows) < len(clean_rows) or (len(ins_rows) == len(clean_rows) and rng.random() < 0.5)
            got = None
            if want_ins:
                # docs have code blocks: prefer an upcoming item that has a shell/config/code form
                near = [j for j in range(seq_i, min(seq_i + 20, len(seq)))
                        if seq[j]["sh"] or seq[j]["cfg"] or single(seq[j]["py"])]
                if near:
                    j = rng.choice(near)
                    seq[seq_i], seq[j] = seq[j], seq[seq_i]
                got = try_insert(src, rng, seq[seq_i])
                if got:
                    seq_i += 1
                    ins_rows.append(got)
            if not got:
                got = try_clean(src, rng)
                if got:
                    clean_rows.append(got)
            if not got:
                break
    doc_clean, doc_ins = len(clean_rows), len(ins_rows)

    # 2) code: quotas per package (sqrt of eligible size, capped by capacity)
    need_clean, need_ins = N_CLEAN - doc_clean, N_INS - doc_ins
    pkgs = [p for p, _ in PACKAGES]
    weights = {p: math.sqrt(sum(len(s.text) for s in code[p] if s.cap())) for p in pkgs}
    caps = {p: sum(s.cap() for s in code[p]) for p in pkgs}
    quota = water_fill(need_clean + need_ins, weights, caps)
    ins_share = need_ins / (need_clean + need_ins)

    def run_package(p, n_clean, n_ins):
        files = [s for s in code[p] if s.cap()]
        rng.shuffle(files)
        got_c = got_i = 0
        for rnd in range(MAX_PER_FILE):
            for src in files:
                rem_c = min(n_clean - got_c, N_CLEAN - len(clean_rows))
                rem_i = min(n_ins - got_i, N_INS - len(ins_rows))
                if rem_c <= 0 and rem_i <= 0:
                    return got_c, got_i
                if src.nchunks > rnd or src.nchunks >= src.cap():
                    continue
                role_ins = rng.random() < max(rem_i, 0) / (max(rem_c, 0) + max(rem_i, 0))
                nonlocal_seq = seq_state
                got = None
                if role_ins and nonlocal_seq[0] < len(seq):
                    got = try_insert(src, rng, seq[nonlocal_seq[0]])
                    if got:
                        nonlocal_seq[0] += 1
                        ins_rows.append(got)
                        got_i += 1
                elif rem_c > 0:
                    got = try_clean(src, rng)
                    if got:
                        clean_rows.append(got)
                        got_c += 1
        return got_c, got_i

    seq_state = [seq_i]
    for p in pkgs:
        q = quota[p]
        qi = round(q * ins_share)
        run_package(p, q - qi, qi)
    # top up any shortfall from the largest packages (capacity estimates are approximate)
    for _ in range(3):
        short_c, short_i = N_CLEAN - len(clean_rows), N_INS - len(ins_rows)
        if short_c <= 0 and short_i <= 0:
            break
        for p in sorted(pkgs, key=lambda x: -caps[x]):
            short_c, short_i = N_CLEAN - len(clean_rows), N_INS - len(ins_rows)
            if short_c <= 0 and short_i <= 0:
                break
            run_package(p, max(0, short_c), max(0, short_i))
    if len(clean_rows) != N_CLEAN or len(ins_rows) != N_INS:
        raise SystemExit(f"could not fill: clean={len(clean_rows)} inserted={len(ins_rows)}")
    rows = clean_rows + ins_rows
    rng.shuffle(rows)
    return rows, versions, skipped, code, docs, (doc_clean, doc_ins)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

def validate(path, rows_meta):
    by_id = {it["id"]: it for it in POOL}
    for it in POOL:
        for typ, val in it["chk"]:
            assert CHECKS[typ](val), (typ, val)
            for form in ("doc", "cm", "py", "sh", "cfg"):
                if it[form]:
                    norm = it[form].replace(" ", "")
                    assert val in it[form] or val.replace(" ", "") in norm, (it["id"], form, val)
    assert len({json.dumps([it[f] for f in ("doc", "cm", "py", "sh", "cfg")]) for it in POOL}) == len(POOL)
    with open(path, encoding="utf-8") as fh:
        parsed = [json.loads(line) for line in fh]
    assert len(parsed) == N_CLEAN + N_INS
    kinds = Counter(r["kind"] for r in parsed)
    assert kinds == {"long_clean": N_CLEAN, "long_inserted": N_INS}, kinds
    cats = Counter(r["category"] for r in parsed if r["sensitive"])
    assert cats == Counter(CATEGORY_QUOTA), cats
    for r in parsed:
        assert LO <= len(r["text"]) <= HI, (r["source"], len(r["text"]))
        assert r["sensitive"] == (r["kind"] == "long_inserted")
        assert (r["category"] == "none") == (not r["sensitive"])
        expect = {"text", "sensitive", "category", "kind", "source"} | ({"inserted"} if r["sensitive"] else set())
        assert set(r) == expect, set(r)
    # exactness against the source files, overlap and per-file limits
    per_file = defaultdict(list)
    uses = Counter()
    for row, meta in rows_meta:
        src, s, e = meta["src"], meta["s"], meta["e"]
        per_file[src.rel].append((s, e))
        base = slice_text(src, s, e)
        if row["sensitive"]:
            b, rendered = meta["b"], meta["rendered"]
            uses[meta["item"]] += 1
            assert row["inserted"] in row["text"]
            rebuilt = "".join(src.lines[s:b]) + rendered + "".join(src.lines[b:e])
            assert row["text"] == (rebuilt[:-1] if rebuilt.endswith("\n") else rebuilt)
            idx = row["text"].index(row["inserted"])
            ls = row["text"].rfind("\n", 0, idx) + 1
            end = idx + len(row["inserted"]) + 1
            cand = [row["text"][:ls] + row["text"][end:], row["text"][:ls] + row["text"][end + 1:]]
            assert base in cand, row["source"]
            it = by_id[meta["item"]]
            for typ, val in it["chk"]:
                assert val.replace(" ", "") in row["text"].replace(" ", ""), (typ, val)
                assert CHECKS[typ](val)
        else:
            assert row["text"] == base
        with open(os.path.join(SP, src.rel), encoding="utf-8", newline=None) as fh:
            flines = fh.read().splitlines(keepends=True)
        assert "".join(flines[s:e]).rstrip("\n") == base.rstrip("\n") or \
            "".join(flines[s:e])[:-1] == base
        assert row["source"] == f"{src.rel}:{s + 1}"
    for rel, spans in per_file.items():
        assert len(spans) <= MAX_PER_FILE, rel
        spans.sort()
        for (a1, z1), (a2, z2) in zip(spans, spans[1:]):
            assert z1 <= a2, (rel, spans)
    assert max(uses.values()) <= MAX_ITEM_USES
    return parsed, uses


# ---------------------------------------------------------------------------
# README
# ---------------------------------------------------------------------------

def write_readme(rows_meta, versions, skipped, code, docs, doc_counts, uses, digest):
    clean = [(r, m) for r, m in rows_meta if not r["sensitive"]]
    ins = [(r, m) for r, m in rows_meta if r["sensitive"]]

    def is_doc(m):
        return m["src"].kind != "py"

    pk = lambda m: m["src"].pkg  # noqa: E731
    by_pkg = Counter((pk(m), "clean" if not r["sensitive"] else "inserted") for r, m in rows_meta)
    files_used = defaultdict(set)
    for r, m in rows_meta:
        files_used[m["src"].pkg].add(m["src"].rel)
    forms = Counter(m["form"] for _, m in ins)
    cats = Counter(r["category"] for r, _ in ins)
    lens = [len(r["text"]) for r, _ in rows_meta]
    n_doc_c = sum(1 for _, m in clean if is_doc(m))
    n_doc_i = sum(1 for _, m in ins if is_doc(m))
    doc_chars = sum(len("".join(s.lines[s.lo:])) for s in docs)
    out = []
    w = out.append
    w("# long_b.jsonl - held-out long developer-content evaluation set (B)\n")
    w("Held-out **evaluation-only** data for the privacy detector. It was written separately from the "
      "detector, its training data and the other evaluation sets (none of them were read while building it), "
      "and it must never be used for training, threshold tuning or prompt tuning.\n")
    w("## What it is\n")
    w(f"- `long_b.jsonl`: {len(rows_meta)} rows, {len(clean)} `long_clean` + {len(ins)} `long_inserted`; "
      f"every text is {min(lens)}-{max(lens)} characters (target {LO}-{HI}), mean {sum(lens) / len(lens):.0f}.")
    w("- **Clean rows** (`sensitive: false`, `category: \"none\"`) are exact contiguous slices of real files, "
      "cut at line boundaries (starting and ending on non-blank lines). They were never filtered or edited by "
      "content: whatever the upstream code/docs contain (author e-mails, example keys, URLs, ...) counts as clean.")
    w("- **Inserted rows** (`sensitive: true`) are other, non-overlapping slices with exactly one hand-written "
      "sensitive item inserted at a random line boundary and shaped to fit the spot: a correctly indented "
      "statement, a `#` comment, a docstring sentence, a config/shell line inside a docs code block, or a prose "
      "sentence in docs. Python insertions were checked by recompiling the whole modified file (statements "
      "must parse as a statement on that line, comments must tokenize as comments, docstring sentences must "
      "land inside the docstring). `inserted` holds the inserted text (stripped); the window end was "
      "adjusted so the final text is also within the length range.")
    w("- `source` is `<path relative to site-packages>:<first line number>` of the slice in the original file.")
    w("- At most 4 chunks per file, no two chunks overlap; "
      f"{sum(len(v) for v in files_used.values())} distinct files were used.\n")
    w("## Sources (installed package sources, system CPython site-packages)\n")
    w(f"Read only from `{SP}`:\n")
    w("| package dir | distribution | version | files used | clean | inserted |")
    w("|---|---|---|---|---|---|")
    for p, _ in PACKAGES:
        name, ver = versions[p]
        w(f"| `{p}` | {name} | {ver} | {len(files_used[p])} | {by_pkg[(p, 'clean')]} | {by_pkg[(p, 'inserted')]} |")
    w("")
    w("Per package: all `.py` files (for `cfnlint` only `.py`), the long description in "
      "`<dist>.dist-info/METADATA` (Markdown or reST body after the header block) and any `.md/.rst/.txt` "
      "shipped inside the package. Not used: botocore, boto3, attrs, jinja2, werkzeug, charset_normalizer, the "
      "standard library, anything in `.venv`.")
    w(f"Skipped as data tables / binary ({len(skipped)} files, literal-only lines > {DATA_TABLE_FRACTION:.0%} of "
      "code lines): " + ", ".join(sorted({os.path.dirname(r) if 'cfnlint/data/' in r else r for r, _ in skipped}))
      + ".\n")
    w("## Counts\n")
    w(f"- Code vs docs: clean {len(clean) - n_doc_c} code / {n_doc_c} docs; inserted {len(ins) - n_doc_i} code / "
      f"{n_doc_i} docs.")
    w(f"- **Docs share is far below the requested ~30%**: the allowed doc sources hold only ~{doc_chars // 1000} KB "
      "of text (8 METADATA long descriptions, several shorter than 1,300 characters, plus four IPython plugin "
      "`.txt` files of < 1,100 characters each), and with the 4-chunks-per-file limit they yield only "
      f"{n_doc_c + n_doc_i} chunks. Docstring-sentence insertions into `.py` files partly cover prose.")
    w("- Inserted categories: " + ", ".join(f"{c} {n}" for c, n in cats.most_common()) + ".")
    w("- Insertion forms: " + ", ".join(f"{f} {n}" for f, n in forms.most_common()) + ".")
    w(f"- Item pool: {len(POOL)} distinct hand-written items with invented values; {len(uses)} used, "
      f"each at most {max(uses.values())} times.")
    w("- Category meaning: authentication = credentials/keys/tokens/passwords; contact = name with e-mail/phone/"
      "home address; financial = card numbers, IBANs, bank details, salaries, seed phrase; identification = SSN, "
      "passport, licence, national IDs, DOB with name; health = medical conditions/leave; location_network = "
      "home IPs/coordinates/MACs tied to a person; account_profile = personal handles/accounts; device_incident = "
      "serials/IMEIs tied to a person, security incidents naming a person; media_content = private message, "
      "voicemail or photo excerpts; ancillary = other personal-life disclosures (divorce, religion, visa status, "
      "sexuality, union membership).\n")
    w("## Validation (run automatically by the script)\n")
    w("Every line parses as JSON; 300/300 split; all texts within 1,300-1,700 characters; fields exactly as "
      "specified; clean texts equal the file slice; removing the inserted line(s) from an inserted text gives "
      "back the exact file slice; no overlaps and <= 4 chunks per file; category quotas met; every item used <= 3 "
      "times; card numbers/SIN/IMEI pass Luhn, IBANs pass mod-97 with the right country length, the routing "
      "number passes the ABA checksum, NHS numbers pass mod-11, DNIs have the right letter, JWT header/payload "
      "decode as JSON.\n")
    w("## Rebuild\n")
    w("```sh\n/root/.pyenv/versions/3.11.7/bin/python tests/data/privacy_eval/make_long_b.py\n```\n")
    w(f"Seeded with `random.Random({SEED})`; output depends only on the package files listed above "
      f"(same versions give the same file). sha256 of this build's `long_b.jsonl`: `{digest}`.\n")
    with open(OUT_README, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out))


def main():
    if sys.version_info[:2] != (3, 11):
        print("warning: built and verified with CPython 3.11; other versions may tokenize differently",
              file=sys.stderr)
    rows_meta, versions, skipped, code, docs, doc_counts = build()
    with open(OUT_JSONL, "w", encoding="utf-8") as fh:
        for row, _ in rows_meta:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    _, uses = validate(OUT_JSONL, rows_meta)
    with open(OUT_JSONL, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    write_readme(rows_meta, versions, skipped, code, docs, doc_counts, uses, digest)
    c = Counter(r["kind"] for r, _ in rows_meta)
    print(f"wrote {OUT_JSONL}: {dict(c)}; pool={len(POOL)} items; readme {OUT_README}")


if __name__ == "__main__":
    main()
