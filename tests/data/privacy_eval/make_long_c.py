#!/usr/bin/env python3
"""Build the held-out long-content evaluation set ``long_c.jsonl``.

600 rows of ~1,500-character chunks of public projects' code and docs:

* 300 ``long_clean`` rows: unmodified contiguous slices (line boundaries) of
  .py files and Markdown/reST/text docs of a fixed list of installed packages.
* 300 ``long_inserted`` rows: other, non-overlapping slices with exactly ONE
  invented sensitive item inserted at a line boundary, shaped to fit the
  surrounding text (indented statement, ``#`` comment, docstring sentence,
  line in a code block, prose paragraph).

The only inputs are files of the allowed packages in the system Python's
site-packages (see ``SITE`` / ``PACKAGES``).  Everything is driven by
``random.Random(31337)`` so the output is reproducible for the same package
versions (recorded in README-long_c.md).

This script was written independently of the detector under test and of the
other evaluation sets; nothing here was trained or tuned against the detector.

Usage::

    /root/.pyenv/versions/3.11.7/bin/python make_long_c.py          # build + validate
    /root/.pyenv/versions/3.11.7/bin/python make_long_c.py --check  # validate existing output
"""
from __future__ import annotations

import argparse
import ast
import bisect
import email.parser
import json
import math
import random
import re
import sys
import textwrap
import warnings
from collections import Counter, defaultdict
from pathlib import Path

SITE = Path("/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages")
HERE = Path(__file__).resolve().parent
OUT_JSONL = HERE / "long_c.jsonl"
OUT_README = HERE / "README-long_c.md"

SEED = 31337
N_CLEAN = 300
N_INSERTED = 300
MIN_LEN, MAX_LEN = 1300, 1700
MAX_PER_FILE = 4            # across clean + inserted rows
DOC_SHARE = 0.30            # wanted share of doc chunks (not reachable, see README)

# (import directory, distribution name used in "<name>-<version>.dist-info")
PACKAGES = [
    ("flask", "flask"), ("requests", "requests"), ("urllib3", "urllib3"),
    ("docker", "docker"), ("moto", "moto"), ("networkx", "networkx"),
    ("pygments", "pygments"), ("prompt_toolkit", "prompt_toolkit"),
    ("trio", "trio"), ("jsonschema", "jsonschema"),
    ("dateutil", "python_dateutil"), ("rsa", "rsa"), ("pyasn1", "pyasn1"),
]

# inserted rows per category (sums to N_INSERTED)
CATEGORY_TARGETS = {
    "authentication": 120, "contact": 45, "financial": 45, "identification": 30,
    "health": 15, "location_network": 15,
    "account_profile": 8, "device_incident": 8, "media_content": 7, "ancillary": 7,
}
MAX_ITEM_USES = 2

# ---------------------------------------------------------------------------
# Pool of invented sensitive items (all names, numbers, keys and passwords are
# made up for this file).  Placeholders ``{=name}`` are filled from ``vals``.
#   stmt : a Python statement (used in .py files and python code blocks)
#   note : a sentence (used as # comment, docstring sentence, doc paragraph)
#   line : a shell / config line for code blocks in docs (lang = block type)
# ---------------------------------------------------------------------------
POOL = [
    dict(cat='authentication', sub='openai_key', stmt='OPENAI_API_KEY = "{=k}"', note='TODO(ines): hard-coded the project key {=k} until the vault sidecar works in CI; rotate after the demo.', line='export OPENAI_API_KEY={=k}', lang='bash',
         vals={'k': 'sk-proj-Y6zBJD-xsmEX5hYWoRaBc11QnodrZW92HY95qIoQbwTNRnmcT3BlbkFJxYO5P6i8g8RrL8TXcMqxyX1IS-wFsKjbMT9wPhRohxaDJnFF'}),
    dict(cat='authentication', sub='openai_key', stmt='client = OpenAI(api_key="{=k}", organization="org-Qm7RtV2xLpN8sWd4Kc1Hj9Ez")', note="Kasia's personal OpenAI key for the eval runs is {=k}; please don't paste it anywhere else.", line='OPENAI_API_KEY={=k}', lang='env',
         vals={'k': 'sk-proj-9vCyywU6igvIzut8a-PesZvXUa9HMpbhfforKAQVUdT4RkHtT3BlbkFJzIYBnsNl08h1isYdg87Hdm55w0WdUZAdelvs27mxka4E5UUY'}),
    dict(cat='authentication', sub='anthropic_key', stmt='ANTHROPIC_API_KEY = os.environ.get("ANTHROPIC_API_KEY", "{=k}")', note='Fallback Anthropic key used by the nightly summariser job: {=k}.', line='export ANTHROPIC_API_KEY="{=k}"', lang='bash',
         vals={'k': 'sk-ant-api03-s7sDJB8qlaK-W24uwZu7gyqeKJrc5n1AZztQex7WRV-3Rw_ZBXEd6Y1FCKmY8bYtB6YsoAtOpZqEka3UuS0Pk0ijmpoXCAA'}),
    dict(cat='authentication', sub='anthropic_key', stmt='headers = {"x-api-key": "{=k}", "anthropic-version": "2023-06-01"}', note="For local testing against the Claude API send x-api-key {=k} (Marco's dev key, he says it's fine until June).", line='curl https://api.anthropic.com/v1/messages -H "x-api-key: {=k}" -H "anthropic-version: 2023-06-01" -d @req.json', lang='bash',
         vals={'k': 'sk-ant-api03-Hgi4eLgHKqx4W_PY1HuQhmsL7h50a5yWWqw7SHKguw43-4Gbv1DpQu048ZtJ0Lb4hrxd_0jR0YzvS52AXpfX41kZ4eKVhAA'}),
    dict(cat='authentication', sub='aws_keypair', stmt='boto_kwargs = dict(aws_access_key_id="{=a}", aws_secret_access_key="{=s}", region_name="eu-west-1")', note='Prod deploy user: access key {=a}, secret {=s}. Ask Femi before using it.', line='aws configure set aws_secret_access_key {=s} --profile prod-deploy', lang='bash',
         vals={'a': 'AKIACYMHXKMAC3NQBBWY', 's': 'AeCx6VZza//BU2s7w0Uz9QO4x6mnjxHKsjgsr2rP'}),
    dict(cat='authentication', sub='aws_keypair', stmt='os.environ["AWS_SECRET_ACCESS_KEY"] = "{=s}"  # pairs with {=a}', note='The backup bucket is still written with {=a} / {=s} from the old ops account.', line='AWS_ACCESS_KEY_ID={=a}\nAWS_SECRET_ACCESS_KEY={=s}', lang='env',
         vals={'a': 'AKIAQIJ3WBLP7R8BBEL5', 's': 'h0mOzISYIUHANge37a83utfELZun0hgADMSM4gj7'}),
    dict(cat='authentication', sub='aws_session', stmt='creds = {"AccessKeyId": "{=a}", "SecretAccessKey": "{=s}", "SessionToken": "{=t}"}', note='Temporary creds pasted from the SSO console (valid 12h): {=a} {=s}', line='export AWS_SESSION_TOKEN={=t}', lang='bash',
         vals={'a': 'ASIAC2KQIBYPS5LQKQ5J', 's': 'BacDv/Mpzoa8MNTly2SRpVGL646W6fTDL+yXP1Jy', 't': 'IQoJb3JpZ2luX2VjE+GoSqhLUM56T5jusfAISVZEdMXQTyr5lGyWPZ1BBqXGs+fwhKYZIEOU5nN0eVqG6+cgaWnzR83hx+FxrnpJM8xIA8b0wcnSPy0W/nhr'}),
    dict(cat='authentication', sub='aws_keypair', stmt='AWS_SECRET = "{=s}"  # billing-reports IAM user, key id {=a}', note='If the export job fails again, the billing-reports IAM secret is {=s} (key id {=a}).', line='[billing-reports]\naws_access_key_id = {=a}\naws_secret_access_key = {=s}', lang='ini',
         vals={'a': 'AKIAC60RFJG4WSR7MJAP', 's': '++P6eN3RxcKjfu/pDyaP23OWupN1iRnf91rDfowb'}),
    dict(cat='authentication', sub='github_token', stmt='GITHUB_TOKEN = "{=k}"', note="The release bot uses Dmitri's personal token {=k}; it has repo and workflow scopes, so be careful.", line='git clone https://x-access-token:{=k}@github.com/brightfold/infra-secrets.git', lang='bash',
         vals={'k': 'ghp_T6rN45oq2cF7PqKfwxdxlQZRKWmT2cKenHU5'}),
    dict(cat='authentication', sub='github_token', stmt='gh = Github(auth=Auth.Token("{=k}"))', note='Fine-grained PAT for the docs mirror, expires 2025-11-30: {=k}', line='export GH_TOKEN={=k}', lang='bash',
         vals={'k': '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'}),
    dict(cat='authentication', sub='github_token', stmt='session.headers["Authorization"] = "token {=k}"', note="gh auth token printed {=k} on Ana's laptop; that's what the sync script borrows.", line='echo {=k} | gh auth login --with-token', lang='bash',
         vals={'k': 'gho_bm9UoqMxVShAtriMvZH84HtoocX1Gtw36hsF'}),
    dict(cat='authentication', sub='gitlab_token', stmt='GITLAB_PRIVATE_TOKEN = "{=k}"', note='glab is logged in with {=k}; revoke it when Priya moves teams.', line='git remote add mirror https://oauth2:{=k}@gitlab.com/kestrel-labs/ledger.git', lang='bash',
         vals={'k': 'glpat-Wo8Ebu1W_T7wmZIqHY9f'}),
    dict(cat='authentication', sub='gitlab_token', stmt='RUNNER_TOKEN = "{=k}"', note="Runner authentication token for the GPU box under Niall's desk: {=k}.", line='gitlab-runner register --url https://gitlab.kestrel.net --token {=k} --executor docker', lang='bash',
         vals={'k': 'glrt-zEpGYi2CSemvvLKf3Nry'}),
    dict(cat='authentication', sub='slack_token', stmt='slack = WebClient(token="{=k}")', note='Alerts post to #ops-pager through the bot token {=k}.', line='SLACK_BOT_TOKEN={=k}', lang='env',
         vals={'k': 'xoxb-610767176759-3755691374017-qVWK5CA7dxutXWDQ7LlTLVUh'}),
    dict(cat='authentication', sub='slack_token', stmt='SLACK_USER_TOKEN = "{=k}"  # Hannah\'s user token, needed for the channel export', note='The channel export runs as Hannah using {=k}.', line='curl -H "Authorization: Bearer {=k}" "https://slack.com/api/conversations.history?channel=C04QX7LMN2B"', lang='bash',
         vals={'k': 'xoxp-916210290791-479298112409-9923662007784-cd4299da148678b93fb0bbc1818b5e94'}),
    dict(cat='authentication', sub='slack_webhook', stmt='WEBHOOK_URL = "{=u}"', note='Incident webhook (posts straight into #exec-private): {=u}', line='curl -X POST -H \'Content-type: application/json\' --data \'{"text":"deploy done"}\' {=u}', lang='bash',
         vals={'u': 'https://hooks.slack.com/services/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'}),
    dict(cat='authentication', sub='stripe_key', stmt='stripe.api_key = "{=k}"', note='Live Stripe secret for the Dublin entity is {=k}; never use it in tests.', line='STRIPE_SECRET_KEY={=k}', lang='env',
         vals={'k': 'sk_live_51WnGAbl4DLrp8h8Z70RMKEp3BIud7Y0ELra3PrVaQBblHVfL3vo5qv185Vb'}),
    dict(cat='authentication', sub='stripe_key', stmt='STRIPE_RESTRICTED_KEY = "{=k}"', note='Restricted key (charges read-only) handed to the analytics contractor: {=k}', line='stripe listen --api-key {=k} --forward-to localhost:5000/webhooks', lang='bash',
         vals={'k': 'rk_live_51bUSuIZ03Fmvf9Hnwef7HruP1Ynxtuu3zVdNNrtveKiZqgs8s0uFaaVB295'}),
    dict(cat='authentication', sub='stripe_webhook_secret', stmt='endpoint_secret = "{=k}"', note='Webhook signing secret for the live payments endpoint: {=k}.', line='STRIPE_WEBHOOK_SECRET={=k}', lang='env',
         vals={'k': 'whsec_kuzVnyrbrBof6DMZtnJq37G84C4EiSgv'}),
    dict(cat='authentication', sub='google_api_key', stmt='GOOGLE_MAPS_KEY = "{=k}"', note='Maps key for the store locator (unrestricted, sorry): {=k}', line='curl "https://maps.googleapis.com/maps/api/geocode/json?address=Leeds&key={=k}"', lang='bash',
         vals={'k': 'AIzacLZwvhXb0Sk-_HwPimG8vMXFqSFVMj4nxmE'}),
    dict(cat='authentication', sub='google_api_key', stmt='firebase_config = {"apiKey": "{=k}", "authDomain": "tallyho-prod.firebaseapp.com", "projectId": "tallyho-prod"}', note="tallyho-prod web config uses apiKey {=k}, the same project as Jonas's admin service account.", line='FIREBASE_API_KEY={=k}', lang='env',
         vals={'k': 'AIzaiGhX6gZuUzxDJQbC3abIRmK7ASQu9KcWbst'}),
    dict(cat='authentication', sub='twilio_credentials', stmt='twilio_client = Client("{=sid}", "{=tok}")', note='SMS sender account {=sid}, auth token {=tok}.', line='TWILIO_ACCOUNT_SID={=sid}\nTWILIO_AUTH_TOKEN={=tok}', lang='env',
         vals={'sid': 'AC0bd2ede92993ff524ecebd258fea277f', 'tok': '0007a8569c57438bb0dda3aaab938574'}),
    dict(cat='authentication', sub='twilio_credentials', stmt='TWILIO_API_KEY_SID, TWILIO_API_SECRET = "{=sk}", "{=sec}"', note="Voice API key {=sk} with secret {=sec}, generated under Rosa's login.", line='twilio profiles:add --api-key {=sk} --api-secret {=sec}', lang='bash',
         vals={'sk': 'SK1fe18ee55683168302071ff5cead3c55', 'sec': 'QEQqsqDlpttkYQaeFNu4JfVKEy9FVbZx'}),
    dict(cat='authentication', sub='sendgrid_key', stmt='sg = SendGridAPIClient("{=k}")', note='Transactional mail key for the receipts service: {=k}', line="export SENDGRID_API_KEY='{=k}'", lang='bash',
         vals={'k': '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'}),
    dict(cat='authentication', sub='jwt', stmt='AUTH_HEADER = {"Authorization": "Bearer {=j}"}', note="Captured from Lena's browser session while chasing the 401s: Bearer {=j}", line='curl -H "Authorization: Bearer {=j}" https://api.orchardly.app/v2/me', lang='bash',
         vals={'j': 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfNTUyMSIsImVtYWlsIjoibGVuYS5oYXJ0bWFubkBvcmNoYXJkbHkuYXBwIiwicm9sZSI6ImFkbWluIiwiaWF0IjoxNzE0NjM5MjAwLCJleHAiOjE3MTQ2ODI0MDB9.o9GZNe8_DFfc0mQjJ5og_pnsLT-kPiYOkA7syLdPTx0'}),
    dict(cat='authentication', sub='jwt', stmt='refresh_token = "{=j}"', note='Refresh token for the support@ mailbox integration (long-lived): {=j}', line='REFRESH_TOKEN={=j}', lang='env',
         vals={'j': 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InZOVFhheDFVa3IifQ.eyJzdWIiOiJzdXBwb3J0QGtlc3RyZWwubmV0Iiwic2NvcGUiOiJtYWlsLnJlYWQgb2ZmbGluZV9hY2Nlc3MiLCJpYXQiOjE3MDkyNTEyMDAsImV4cCI6MTc0MDc4NzIwMH0.a6rPHolKmIlZSF1tKgYR3CJB2_Geqp4bh_t2tHj8Pxm'}),
    dict(cat='authentication', sub='private_key', stmt='SIGNING_KEY_PEM = """{=pem}"""', note='Staging token-signing key, copied off the old Jenkins box:\n{=pem}', line='{=pem}', lang='text',
         vals={'pem': '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBHYSz3rZI017+l4a13n/fA424BDz7RmuRVeKzKwUr1joAoGCCqGSM49\nAwEHoUQDQgAEunnDKqw0VdMWMqUdyjH6yye2t6vIBI1RjHd2ZikenI6u58PtjMt/\nbGSywXYb1MX7H4NLpdOLn/Ez0dq2oxHo5Q==\n-----END EC PRIVATE KEY-----'}),
    dict(cat='authentication', sub='private_key', stmt='PRIVATE_KEY = """{=pem}"""', note='Deploy key for the billing repo:\n{=pem}', line='{=pem}', lang='text',
         vals={'pem': '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAsI6zNbavSXnMcJ3f9xMsE09gy5vWIBOEf6BwErIj9vf2e44n\nssEJE1Gg3r4MbYzJNKDxt8toOZ36a1Zavqby3nN7cjRsgu4jfEp6YyFjxLxpNbeP\nhxqwCL6yMWiH1q5L1cG2CJ0N1RUpcchsulBeEyKI0/OgRJjGdQWAnlA65sRG0owa\nIFidbSpzc0YIqYL4aKITp6Iwe5a0aeK+jzzKP87EVJW9BKV6ihhGi1WfN65iWRPh\nin9lajLlqC0mvEPTM3nRfmkbJaGK97hg62NfbHCv7QpSDLoN8We8iZB0vsLkF1Jc\ngbsD3zoKNmtzUtxsQXXW/42s5dK49ecWbj8D9pqCmMRWfG3bE7htgKrXGyvUxMJ6\n6WFrNA==\n-----END RSA PRIVATE KEY-----'}),
    dict(cat='authentication', sub='private_key', stmt='DEPLOY_SSH_KEY = """{=pem}"""', note='Bastion login key for svc-deploy:\n{=pem}', line='{=pem}', lang='text',
         vals={'pem': '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBzjHP5vSiQz1YRW6yu/bob6LEFaln3K5RYe/m+sMHaGc37dCDQoOyqzcPp\n58yOVpqX0z6JHgRlvXDe7UrMTri4qTER1n4PDGTnBdm2Y0SMwvPNmEsVfncJUaPAXE5nXb\nBmxSlDTTNFs8E7roumr8BLA7jvYgPHug+CmUWU9hyiuYonxW19xAwdh1mxywQ39guBmo9h\nZVwfnRyIv+0gVSTjv8DRaEuKwc6MLL3LbRliuZmznUBoUyM7Hb9YTpM+A==\n-----END OPENSSH PRIVATE KEY-----'}),
    dict(cat='authentication', sub='private_key', stmt='ED25519_KEY = b"""{=pem}"""', note='Webhook signer private key (ed25519):\n{=pem}', line='{=pem}', lang='text',
         vals={'pem': '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEILQHkDPEOGI5oA89onTa/JIjOFCejTSh02IhlKINFpOb\n-----END PRIVATE KEY-----'}),
    dict(cat='authentication', sub='password', stmt='DB_PASSWORD = "Wint3r-Harbour!82"', note="The reporting replica's postgres password is Wint3r-Harbour!82 (same as staging, I know).", line="PGPASSWORD='Wint3r-Harbour!82' psql -h 10.20.4.17 -U reporting analytics", lang='bash',
         vals={}),
    dict(cat='authentication', sub='password', stmt='config = yaml.safe_load("database:\\n  user: svc_billing\\n  password: gl4cier_Moss#2291\\n")', note='svc_billing logs in with gl4cier_Moss#2291 on every environment.', line='database:\n  host: billing-db.internal\n  user: svc_billing\n  password: gl4cier_Moss#2291', lang='yaml',
         vals={}),
    dict(cat='authentication', sub='password', stmt='os.environ.setdefault("MYSQL_ROOT_PASSWORD", "pUmpk1n.Spice.77")', note='MySQL root on the shared dev box is pUmpk1n.Spice.77.', line='MYSQL_ROOT_PASSWORD=pUmpk1n.Spice.77', lang='env',
         vals={}),
    dict(cat='authentication', sub='password', stmt='subprocess.run(["mysql", "-u", "admin", "-pOrchid!Lantern4", "-h", "db-prod-2.internal"], check=True)', note='Admin login for db-prod-2 is admin / Orchid!Lantern4 until the rotation ticket lands.', line="mysql -u admin -p'Orchid!Lantern4' -h db-prod-2.internal", lang='bash',
         vals={}),
    dict(cat='authentication', sub='connection_string', stmt='BROKER_URL = "amqp://celery:Fjord%40Biscuit19@rabbit.internal:5672/prod"', note='Celery connects with amqp://celery:Fjord%40Biscuit19@rabbit.internal:5672/prod.', line='export CELERY_BROKER_URL=amqp://celery:Fjord%40Biscuit19@rabbit.internal:5672/prod', lang='bash',
         vals={}),
    dict(cat='authentication', sub='connection_string', stmt='SQLALCHEMY_DATABASE_URI = "postgresql://ledger_app:Q9v!ram-Tusk@ledger-db.cluster-c8x2kq.eu-central-1.rds.amazonaws.com:5432/ledger"', note='Ledger DB lives at postgresql://ledger_app:Q9v!ram-Tusk@ledger-db.cluster-c8x2kq.eu-central-1.rds.amazonaws.com:5432/ledger', line='DATABASE_URL=postgresql://ledger_app:Q9v!ram-Tusk@ledger-db.cluster-c8x2kq.eu-central-1.rds.amazonaws.com:5432/ledger', lang='env',
         vals={}),
    dict(cat='authentication', sub='connection_string', stmt='MONGO_URI = "mongodb+srv://orders_rw:Cedar8Pelican2@cluster0.x7k2p.mongodb.net/orders?retryWrites=true&w=majority"', note='Atlas user orders_rw, password Cedar8Pelican2 (cluster0.x7k2p).', line='mongosh "mongodb+srv://cluster0.x7k2p.mongodb.net/orders" --username orders_rw --password Cedar8Pelican2', lang='bash',
         vals={}),
    dict(cat='authentication', sub='connection_string', stmt='REDIS_URL = "redis://:S0lstice-Kettle-55@cache-01.prod.lan:6379/0"', note='requirepass on cache-01 is S0lstice-Kettle-55.', line="redis-cli -h cache-01.prod.lan -a 'S0lstice-Kettle-55' INFO keyspace", lang='bash',
         vals={}),
    dict(cat='authentication', sub='connection_string', stmt='conn_str = "Driver={ODBC Driver 18 for SQL Server};Server=tcp:fin-sql.database.windows.net,1433;Database=payroll;Uid=payroll_admin;Pwd=M@ple&Quartz-303;"', note='Payroll SQL Server admin login: payroll_admin / M@ple&Quartz-303.', line="sqlcmd -S fin-sql.database.windows.net -d payroll -U payroll_admin -P 'M@ple&Quartz-303'", lang='bash',
         vals={}),
    dict(cat='authentication', sub='basic_auth', stmt='resp = requests.get(url, auth=("jenkins-admin", "Tangerine_Owl_62"))', note='Jenkins API basic auth is jenkins-admin:Tangerine_Owl_62.', line='curl -u jenkins-admin:Tangerine_Owl_62 https://ci.brightfold.io/api/json', lang='bash',
         vals={}),
    dict(cat='authentication', sub='basic_auth', stmt='headers["Authorization"] = "Basic {=b}"', note="The export API wants Authorization: Basic {=b} (that's svc-export with the current password).", line='curl -H "Authorization: Basic {=b}" https://export.kestrel.net/v1/dump', lang='bash',
         vals={'b': 'c3ZjLWV4cG9ydDpOaW1idXMjRmVycnkyMDI0'}),
    dict(cat='authentication', sub='docker_login', stmt='client.login(username="deploy-bot", password="{=k}", registry="registry.gitlab.com")', note='deploy-bot pushes images with the password {=k}.', line='docker login registry.gitlab.com -u deploy-bot -p {=k}', lang='bash',
         vals={'k': 'glpat-Mpa2rB-ai6OaVKckrPGR'}),
    dict(cat='authentication', sub='docker_login', stmt='docker_client.login("rkowalski", "Harbor#Mint-4471", registry="harbor.corp.kestrel.net")', note="Robert Kowalski's Harbor login (rkowalski / Harbor#Mint-4471) is what the nightly build uses.", line="echo 'Harbor#Mint-4471' | docker login harbor.corp.kestrel.net --username rkowalski --password-stdin", lang='bash',
         vals={}),
    dict(cat='authentication', sub='docker_login', stmt='DOCKERHUB_TOKEN = "{=k}"', note='Docker Hub access token for the brightfold org: {=k}.', line='docker login -u brightfoldci -p {=k}', lang='bash',
         vals={'k': 'dckr_pat_pKxSFYMp3f2b3izGmEVs6UsYBdt'}),
    dict(cat='authentication', sub='session_cookie', stmt='cookies = {"sessionid": "{=c}", "csrftoken": "{=c2}"}', note="Reproduced with Tom's logged-in admin cookie sessionid={=c}", line='curl -b "sessionid={=c}" https://admin.orchardly.app/admin/', lang='bash',
         vals={'c': 'kgn60ox7jb6p3728e7z4h4spg9izgexl', 'c2': '1Sho6f8UA1DmUYvvh5HmFc6W7jvsegec9X4vyK2mTEC9J7FQEtNCjhRpjKYcg4Gi'}),
    dict(cat='authentication', sub='session_cookie', stmt='jar.set("connect.sid", "s%3A{=a}.{=b}", domain="app.fernweh.travel")', note='Support session of user 88213 (cookie connect.sid=s%3A{=a}.{=b}) reproduces the bug.', line='curl --cookie "connect.sid=s%3A{=a}.{=b}" https://app.fernweh.travel/api/bookings', lang='bash',
         vals={'a': 'Zk3ZP6H8fZH_iBVs28NmkAcJkOuo0UjP', 'b': 'lJ5GVDqowMHjvE4qGBYti24wFtbhHzp+6lmgAC1M426'}),
    dict(cat='authentication', sub='session_cookie', stmt='s.cookies.set("session", "{=f}")', note="Grabbed Wen's session cookie from the HAR file: session={=f}", line='Cookie: session={=f}', lang='http',
         vals={'f': 'eyJfZnJlc2giOnRydWUsIl91c2VyX2lkIjoiNDQ3MSIsImNzcmZfdG9rZW4iOiIwNDBhNWY0M2U5NTAwZGQ3ODg4ZmNmYjlkZWEyOGRkMTU0MTljZjgxIn0.F6fmEs.hmsdVM_AOA6VqqhYdJvdPaXCrvc'}),
    dict(cat='authentication', sub='session_cookie', stmt='requests.get(shop_url, cookies={"PHPSESSID": "{=p}"})', note="The customer's live PHPSESSID {=p} came in with the bug report.", line='curl -H "Cookie: PHPSESSID={=p}" https://shop.lindenhof.de/checkout', lang='bash',
         vals={'p': 'hjmav6eyqppt1f6x1f9om5kjm4'}),
    dict(cat='authentication', sub='package_token', stmt='NPM_TOKEN = "{=k}"', note='Publish token for the @brightfold npm scope: {=k}', line='//registry.npmjs.org/:_authToken={=k}', lang='ini',
         vals={'k': 'npm_m33HOQGo3txbdEpG9q4OKqdOYCQ8bJUsRf9N'}),
    dict(cat='authentication', sub='package_token', stmt='os.environ["TWINE_PASSWORD"] = "{=k}"', note='PyPI upload token for the kestrel-sdk project: {=k}', line='twine upload -u __token__ -p {=k} dist/*', lang='bash',
         vals={'k': 'pypi-AgEIcHlwaS5vcmcBwf2mSIefePfJQAEoE-2Z_Kcr37Kh0IplKpJipjcLIJycLxvUVqDjhiT0SK6prnL4ibp8Y'}),
    dict(cat='authentication', sub='api_token', stmt='login(token="{=k}")', note="Hugging Face write token on Yusuf's account: {=k}", line='huggingface-cli login --token {=k}', lang='bash',
         vals={'k': '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'}),
    dict(cat='authentication', sub='api_token', stmt='DO_TOKEN = "{=k}"', note='DigitalOcean token with full access (droplets and DNS): {=k}', line='doctl auth init --access-token {=k}', lang='bash',
         vals={'k': 'dop_v1_2214d0e237f13fc8ec325c8c9f72e7f4bebac94bfa7d578a40f0f4d97a343559'}),
    dict(cat='authentication', sub='api_token', stmt='MAILGUN_API_KEY = "{=k}"', note='Mailgun private key for mg.orchardly.app: {=k}', line="curl -s --user 'api:{=k}' https://api.mailgun.net/v3/mg.orchardly.app/messages -F to=ops@orchardly.app", lang='bash',
         vals={'k': 'key-31749d1b965cd11817129b6722d172e3'}),
    dict(cat='authentication', sub='connection_string', stmt='AZURE_STORAGE_CONNECTION_STRING = "DefaultEndpointsProtocol=https;AccountName=kestrelbackups;AccountKey={=k};EndpointSuffix=core.windows.net"', note='kestrelbackups storage account key: {=k}', line="az storage blob list --account-name kestrelbackups --account-key '{=k}' -c nightly", lang='bash',
         vals={'k': '2v6lDy0Coxua40Z4dD5BX2BrJP7+CYduHYKjqpjcTwLzH7txo4TsFCzPcquRbwd+lq2o81j8T37vU1BHzQcuaw=='}),
    dict(cat='authentication', sub='api_token', stmt='bot.run("{=d}")', note='Community bot token (server admin permissions): {=d}', line='DISCORD_TOKEN={=d}', lang='env',
         vals={'d': 'NzkzNzU1ODgyMjkzMTM1ODQy.NZX7CS.yQrx5tsuJ2svHDMSZYDv8qB7Wlf4QiHYZ5ws4-'}),
    dict(cat='authentication', sub='api_token', stmt='TELEGRAM_BOT_TOKEN = "{=t}"', note="Alerts bot token from BotFather is {=t}; the chat id for Omar's phone is 418827316.", line='curl "https://api.telegram.org/bot{=t}/sendMessage?chat_id=418827316&text=deploy+finished"', lang='bash',
         vals={'t': '5213276430:AAErBO4ZGod91NMnpddfDOTtzNbp5EPX5kM'}),
    dict(cat='authentication', sub='api_token', stmt='shopify_headers = {"X-Shopify-Access-Token": "{=k}"}', note='Admin API token for lindenhof-store.myshopify.com: {=k}', line='SHOPIFY_ACCESS_TOKEN={=k}', lang='env',
         vals={'k': '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'}),
    dict(cat='authentication', sub='api_token', stmt='client = hvac.Client(url="https://vault.kestrel.net:8200", token="{=k}")', note='Root-ish Vault token left over from the migration: {=k}', line='export VAULT_TOKEN={=k}', lang='bash',
         vals={'k': 'hvs.Js4mQGaDr7KL8f96NdtK4NUy'}),
    dict(cat='authentication', sub='api_token', stmt='initialize(api_key="{=a}", app_key="{=p}")', note='Datadog keys for the EU org: api key {=a}, app key {=p}.', line='DD_API_KEY={=a}\nDD_APP_KEY={=p}', lang='env',
         vals={'a': 'a1c88cfbee5e0a3922504d0a7692a63c', 'p': '227173c132708443c4e21e6b84e637d050ad9f86'}),
    dict(cat='authentication', sub='password', stmt='LDAP_BIND_PASSWORD = "Corvid^Lattice91"', note='The LDAP bind account svc-ldap uses Corvid^Lattice91.', line='ldapsearch -x -D "cn=svc-ldap,ou=services,dc=kestrel,dc=net" -w \'Corvid^Lattice91\' -H ldaps://ldap.kestrel.net "(uid=*)"', lang='bash',
         vals={}),
    dict(cat='authentication', sub='password', stmt='server.login("oliver.brandt.home@gmail.com", "qzvx mtrp aoke jlsw")', note="Mail is relayed through Oliver's own Gmail (oliver.brandt.home@gmail.com, app password qzvx mtrp aoke jlsw).", line='EMAIL_HOST_USER=oliver.brandt.home@gmail.com\nEMAIL_HOST_PASSWORD="qzvx mtrp aoke jlsw"', lang='env',
         vals={}),
    dict(cat='authentication', sub='password', stmt='WIFI_CREDENTIALS = {"ssid": "KestrelGuest", "psk": "PlumTree!4410"}', note='Guest Wi-Fi at the Leeds office is KestrelGuest, passphrase PlumTree!4410.', line="nmcli dev wifi connect KestrelGuest password 'PlumTree!4410'", lang='bash',
         vals={}),
    dict(cat='authentication', sub='password', stmt='conn = Connection("deploy@51.89.122.37", connect_kwargs={"password": "Basalt-Rook-508"})', note='The old VPS (51.89.122.37) still accepts password logins: deploy / Basalt-Rook-508.', line="sshpass -p 'Basalt-Rook-508' ssh deploy@51.89.122.37", lang='bash',
         vals={}),
    dict(cat='authentication', sub='oauth_secret', stmt='GOOGLE_CLIENT_SECRET = "{=s}"', note='OAuth client 604118337251-q0b8n5k2v7j3r9t1m4c6x2z8h5p0w7e3.apps.googleusercontent.com, client secret {=s}.', line='GOOGLE_OAUTH_CLIENT_SECRET={=s}', lang='env',
         vals={'s': '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'}),
    dict(cat='authentication', sub='api_token', stmt='okta_client = OktaClient({"orgUrl": "https://kestrel.okta.com", "token": "{=k}"})', note='Okta admin API token (created by Grace, super-admin scope): {=k}', line='curl -H "Authorization: SSWS {=k}" "https://kestrel.okta.com/api/v1/users?limit=200"', lang='bash',
         vals={'k': '00u_dd8RUlCfO54tut2qyeu0iKgTEhfgbIsJn9udSz'}),
    dict(cat='authentication', sub='api_token', stmt='HEROKU_API_KEY = "{=u}"', note='heroku CLI is logged in as maya.okafor@outlook.com with API key {=u}.', line='machine api.heroku.com\n  login maya.okafor@outlook.com\n  password {=u}', lang='text',
         vals={'u': '6cf506ab-2968-4c6d-821c-23ace5c1777e'}),
    dict(cat='authentication', sub='api_token', stmt='jira = JIRA(server="https://kestrel.atlassian.net", basic_auth=("j.mwangi@kestrel.net", "{=k}"))', note="Joseph's Jira API token (j.mwangi@kestrel.net): {=k}", line='curl -u j.mwangi@kestrel.net:{=k} https://kestrel.atlassian.net/rest/api/3/myself', lang='bash',
         vals={'k': 'ATATT3xFfGF0NsjC63XPFyoCuq0MFhfJoDUpb3jzW2jRCJSiMFfiaZig9Dz7eze5mnB6381x=44333BDE'}),
    dict(cat='authentication', sub='password', stmt='PGPASS_LINE = "db-prod-1.internal:5432:*:postgres:Heron&Kiln-2290"', note='The superuser on db-prod-1 is postgres / Heron&Kiln-2290.', line='db-prod-1.internal:5432:*:postgres:Heron&Kiln-2290', lang='text',
         vals={}),
    dict(cat='authentication', sub='api_token', stmt='TFC_TOKEN = "{=k}"', note='Terraform Cloud team token for the platform workspace: {=k}', line='credentials "app.terraform.io" {\n  token = "{=k}"\n}', lang='hcl',
         vals={'k': '5WTlsaWAlKXm96.atlasv1.vZZajFjsADW81USbQD3KVLqsXn3fb2kV7MmlBkZ21TA66V6l1j3cAnIszyfAuEHMShC'}),
    dict(cat='authentication', sub='jwt', stmt='configuration.api_key = {"authorization": "Bearer {=j}"}', note='cluster-admin service account token for prod-eks: {=j}', line='kubectl --server=https://10.40.0.1:6443 --token={=j} get secrets -A', lang='bash',
         vals={'j': 'eyJhbGciOiJSUzI1NiIsImtpZCI6IjVTSElPVk9XSHVpTlZlU3NDRGZPIn0.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwia3ViZXJuZXRlcy5pby9zZXJ2aWNlYWNjb3VudC9uYW1lc3BhY2UiOiJrdWJlLXN5c3RlbSIsInN1YiI6InN5c3RlbTpzZXJ2aWNlYWNjb3VudDprdWJlLXN5c3RlbTpjbHVzdGVyLWFkbWluLXNhIn0.CblakbKp50lGVEyESXyb3N5rKHVprqpdKfYeiDIwC8I31lIblbxOvsDG5ipqAkQZ5IO0OiE3ip2c2M3g0wEUHw'}),
    dict(cat='authentication', sub='password_hash', stmt='HTPASSWD_ENTRY = "admin:{=h}"  # plain: Lupin!Crater33', note='The staging basic-auth entry is admin:{=h} and the plain password is Lupin!Crater33.', line='admin:{=h}', lang='text',
         vals={'h': '$2y$05$3eft4YBjobGYucjDqVbwoUfgqW6x72PuXzYNktNPnT9n1KV3sz/fO'}),
    dict(cat='authentication', sub='api_token', stmt='WEATHER_URL = "https://api.openweathermap.org/data/2.5/weather?q=Oslo&appid={=k}"', note="Paid OpenWeather key (billed to Ingrid's card): {=k}", line='curl "https://api.openweathermap.org/data/2.5/weather?q=Oslo&appid={=k}"', lang='bash',
         vals={'k': '505a077670eb4ec07ea84128c25d5d7b'}),
    dict(cat='authentication', sub='mfa_seed', stmt='MFA_SEED = "{=s}"  # AWS root account TOTP', note='TOTP seed for the AWS root account MFA: {=s} (scan it into 1Password, then delete this).', line='oathtool --totp -b {=s}', lang='bash',
         vals={'s': 'R4CUPDQ6MAOGAPOFEQVT4POX25RAHSCP'}),
    dict(cat='contact', sub='customer_record', stmt='customer = {"name": "Aoife Gallagher", "email": "aoife.gallagher@gmail.com", "phone": "+353 87 412 6690"}', note='Reported by customer Aoife Gallagher (aoife.gallagher@gmail.com, +353 87 412 6690) after the March outage.', line='Aoife Gallagher,aoife.gallagher@gmail.com,+353 87 412 6690,Galway', lang='text',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='ROWS.append(("Tobias Lindqvist", "tobias.lindqvist@outlook.com", "+46 70 318 24 57"))', note='Tobias Lindqvist (tobias.lindqvist@outlook.com, +46 70 318 24 57) asked us to call back after 17:00.', line="INSERT INTO customers (name, email, phone) VALUES ('Tobias Lindqvist', 'tobias.lindqvist@outlook.com', '+46 70 318 24 57');", lang='sql',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='lead = Lead(full_name="Danielle Okoro", email="dani.okoro88@yahoo.com", phone="(312) 846-2291")', note='Danielle Okoro (dani.okoro88@yahoo.com, (312) 846-2291) is our contact for the Chicago pilot.', line='Danielle Okoro <dani.okoro88@yahoo.com>, (312) 846-2291', lang='text',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='SUPPORT_CALLBACK = {"customer": "Gareth Pryce", "mobile": "07824 551903", "email": "g.pryce@btinternet.com"}', note='Gareth Pryce wants a callback on 07824 551903 or g.pryce@btinternet.com about his refund.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='kontakt = Kontakt("Jana Weissmueller", "jana.weissmueller@gmx.de", "+49 151 2398 7741")', note='Jana Weissmueller (jana.weissmueller@gmx.de, 0151 2398 7741) asked for a beta invite for her practice.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='contact_fr = ("Elodie Marchand", "elodie.marchand@orange.fr", "06 48 22 91 37")', note='Elodie Marchand, elodie.marchand@orange.fr, 06 48 22 91 37, wants her two accounts merged.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='notify(user="Rohan Mehta", phone="+91 98203 41567", email="rohan.mehta91@rediffmail.com")', note='Rohan Mehta (+91 98203 41567, rohan.mehta91@rediffmail.com) never received his OTP texts.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='PILOT_USERS = [{"name": "Chloe Whitfield", "phone": "0412 778 093", "email": "chloe.whitfield@bigpond.com"}]', note='Pilot user Chloe Whitfield can be reached on 0412 778 093 or chloe.whitfield@bigpond.com.', line='Chloe Whitfield;0412 778 093;chloe.whitfield@bigpond.com', lang='text',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='contact = {"name": "Haruto Sasaki", "tel": "090-4172-8836", "mail": "h.sasaki.1987@docomo.ne.jp"}', note='Haruto Sasaki (090-4172-8836, h.sasaki.1987@docomo.ne.jp) is the reseller contact in Osaka.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='cliente = {"nome": "Larissa Souza Campos", "celular": "+55 11 98834-2719", "email": "larissa.scampos@uol.com.br"}', note='Larissa Souza Campos, +55 11 98834-2719, larissa.scampos@uol.com.br, reported the duplicate boleto.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='INVITEE = ("Sander de Vries", "sander.devries@ziggo.nl", "06-41837265")', note="Sander de Vries (sander.devries@ziggo.nl, 06-41837265) RSVP'd for the Utrecht meetup.", line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='cliente_es = Cliente("Lucia Fernandez Ortiz", "lucia.fdez.ortiz@hotmail.es", "+34 612 48 93 07")', note='Lucia Fernandez Ortiz (lucia.fdez.ortiz@hotmail.es, +34 612 48 93 07) is waiting on her invoice copy.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='personal_email', stmt='ADMIN_EMAIL = "kwame.asante.private@protonmail.com"  # his personal address, work mail bounces', note="Send the weekly export to Kwame's personal address kwame.asante.private@protonmail.com, his work mail bounces.", line='ADMIN_EMAIL=kwame.asante.private@protonmail.com', lang='env',
         vals={}),
    dict(cat='contact', sub='personal_email', stmt='DEFAULT_CC = ["mirela.popescu76@yahoo.ro"]', note="Mirela asked to be cc'd at mirela.popescu76@yahoo.ro while she is on leave.", line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='phone_number', stmt='ONCALL_FALLBACK = "+44 161 872 4419"  # Stuart\'s home landline', note='If the pager fails, ring Stuart at home on 0161 872 4419 (his wife picks up after 10pm).', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='phone_number', stmt='ESCALATION_PHONE = "(408) 739-2261"  # Priyanka Rao, home', note="After hours, escalate to Priyanka Rao's home phone (408) 739-2261, not her work cell.", line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='home_address', stmt='SHIP_TO = {"name": "Margaret Ellison", "street": "14 Larkspur Close", "city": "Harrogate", "postcode": "HG2 7QT"}', note="Margaret Ellison's replacement unit goes to 14 Larkspur Close, Harrogate HG2 7QT.", line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='home_address', stmt='address = "2217 Wren Hollow Dr, Apt 3B, Austin, TX 78745"  # Luis Ortega (home)', note='Luis Ortega asked for the contract to be mailed to his home at 2217 Wren Hollow Dr, Apt 3B, Austin, TX 78745.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='home_address', stmt='lieferadresse = "Kastanienallee 41, 10435 Berlin"  # Felix Baumann, privat', note='Felix Baumann works from home now; courier parcels to Kastanienallee 41, 10435 Berlin.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_complaint', stmt='complaint = {"ticket": 48812, "from": "patricia.nwosu@hotmail.co.uk", "phone": "07593 228104", "body": "I was charged twice and nobody calls me back."}', note='Ticket 48812: Mrs Patricia Nwosu (patricia.nwosu@hotmail.co.uk, 07593 228104) says she was charged twice and will go to the ombudsman.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='personal_email', stmt='__maintainer_email__ = "irina.volkova.dev@yandex.ru"', note='Irina Volkova prefers irina.volkova.dev@yandex.ru or +7 916 284-51-07 for anything urgent.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='TEST_CONTACT = ("Mathieu Tremblay", "mtremblay.qc@videotron.ca", "514-862-3390")', note='Mathieu Tremblay called from 514-862-3390 and asked for a reply at mtremblay.qc@videotron.ca.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='rider = Rider(name="Chinedu Eze", phone="+234 803 518 2247", email="chinedu.eze@gmail.com")', note='Rider Chinedu Eze (+234 803 518 2247, chinedu.eze@gmail.com) keeps getting logged out.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='utente = {"nome": "Giulia Bianchi", "cellulare": "+39 347 215 8864", "email": "giulia.bianchi82@libero.it"}', note='Giulia Bianchi (+39 347 215 8864, giulia.bianchi82@libero.it) is the new office manager in Milan.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='klient = ("Katarzyna Wojcik", "kasia.wojcik@wp.pl", "+48 601 274 938")', note='Katarzyna Wojcik, kasia.wojcik@wp.pl, +48 601 274 938, asked to move her delivery to Saturday.', line=None, lang='bash',
         vals={}),
    dict(cat='contact', sub='customer_record', stmt='TEST_CUSTOMER = "1042,Nora Haddad,nora.haddad@icloud.com,+1 617 823 4190,88 Prospect St, Cambridge MA 02139"', note='Customer 1042 is Nora Haddad, nora.haddad@icloud.com, +1 617 823 4190, 88 Prospect St, Cambridge MA 02139.', line='id,name,email,phone,address\n1042,Nora Haddad,nora.haddad@icloud.com,+1 617 823 4190,"88 Prospect St, Cambridge MA 02139"', lang='text',
         vals={}),
    dict(cat='contact', sub='phone_number', stmt='EMERGENCY_CONTACTS["sipho.ndlovu"] = ("Thandi Ndlovu (sister)", "082 417 6634")', note='Emergency contact for Sipho Ndlovu is his sister Thandi on 082 417 6634.', line=None, lang='bash',
         vals={}),
    dict(cat='financial', sub='payment_card', stmt='TEST_CARD = "{=card}"  # Ben\'s real Visa, used once for the prod smoke test', note='Refund the charge on card {=card} (exp 09/27, CVV 413) belonging to Ben Hollis.', line='card_number={=card}', lang='env',
         vals={'card': '4026326639172676'}),
    dict(cat='financial', sub='payment_card', stmt='payment = {"pan": "{=card}", "exp": "11/26", "cvc": "208", "holder": "ALEKSANDRA NOWAK"}', note="Aleksandra Nowak's card {=card}, exp 11/26, was declined three times at checkout.", line=None, lang='bash',
         vals={'card': '5524 8041 9649 4604'}),
    dict(cat='financial', sub='payment_card', stmt='charge(card="{=card}", exp="04/28", cid="7731")', note="Amex {=card} is on file for Vikram Singh's corporate account.", line=None, lang='bash',
         vals={'card': '3441 965592 11173'}),
    dict(cat='financial', sub='payment_card', stmt='DISCOVER_PAN = "{=card}"  # Holly Kim, chargeback case 5512', note='Chargeback case 5512: Holly Kim disputes a charge on Discover {=card}.', line=None, lang='bash',
         vals={'card': '6011-5275-5555-0405'}),
    dict(cat='financial', sub='payment_card', stmt='card = Card(number="{=card}", expiry="07/29", holder="Tomas Novak")', note="Tomas Novak's new Mastercard is {=card}, expiry 07/29.", line='4 | Tomas Novak | {=card} | 07/29', lang='text',
         vals={'card': '2473575554431952'}),
    dict(cat='financial', sub='payment_card', stmt='JCB_FIXTURE = {"number": "{=card}", "name": "KENTA MORI", "exp": "03/27"}', note='Kenta Mori paid with JCB {=card}; the receipt shows the full number by mistake.', line=None, lang='bash',
         vals={'card': '3578 5125 5430 2463'}),
    dict(cat='financial', sub='payment_card', stmt='chat_transcript = "customer: my card is {=card} exp 02/27 can you just retry it"', note='The customer read out their card number in chat: {=card}, expiry 02/27.', line=None, lang='bash',
         vals={'card': '4668 5598 2907 6975'}),
    dict(cat='financial', sub='payment_card', stmt='BACKUP_CARD = ("{=card}", "10/28", "Siobhan Kelly")', note="Siobhan Kelly's backup card {=card} (10/28) should only be charged if the primary fails.", line='{=card},10/28,Siobhan Kelly', lang='text',
         vals={'card': '4406-5749-6909-9148'}),
    dict(cat='financial', sub='iban', stmt='payout_iban = "{=iban}"  # Lukas Hoffmann', note="Please send Lukas Hoffmann's reimbursement to IBAN {=iban} (Sparkasse KoelnBonn).", line='PAYOUT_IBAN={=iban}', lang='env',
         vals={'iban': 'DE72701500005932790861'}),
    dict(cat='financial', sub='iban', stmt='refund_account = {"holder": "Amelia Grant", "iban": "{=iban}"}', note='Refund Amelia Grant to {=iban}; she closed her card.', line=None, lang='bash',
         vals={'iban': 'GB56 MIDL 7299 5551 6288 36'}),
    dict(cat='financial', sub='iban', stmt='virement = ("Camille Laurent", "{=iban}")', note="Camille Laurent's salary account is {=iban}.", line=None, lang='bash',
         vals={'iban': 'FR76 1027 8765 8835 4162 9661 919'}),
    dict(cat='financial', sub='iban', stmt='CREDITOR_IBAN = "{=iban}"  # Daan Jansen', note='Daan Jansen wants the deposit back on {=iban}.', line='creditor_iban: {=iban}', lang='yaml',
         vals={'iban': 'NL41ABNA4933233388'}),
    dict(cat='financial', sub='iban', stmt='cuenta = {"titular": "Javier Ruiz Molina", "iban": "{=iban}"}', note="Javier Ruiz Molina's direct debit goes to {=iban}.", line=None, lang='bash',
         vals={'iban': 'ES14 2100 0257 9487 9585 4308'}),
    dict(cat='financial', sub='iban', stmt='bonifico = Bonifico(beneficiario="Marco Ferri", iban="{=iban}")', note='Marco Ferri asked us to pay the invoice to {=iban}.', line=None, lang='bash',
         vals={'iban': 'IT97I0306971608211145909122'}),
    dict(cat='financial', sub='iban', stmt='SEPA_TEST_ACCOUNT = "{=iban}"  # Wout Peeters, real account', note="Wout Peeters' real account {=iban} is in the SEPA test fixtures; replace it.", line=None, lang='bash',
         vals={'iban': 'BE09 3107 4964 2257'}),
    dict(cat='financial', sub='iban', stmt='konto = {"inhaber": "Nina Keller", "iban": "{=iban}"}', note='Nina Keller (Zurich) gets her expenses on {=iban}.', line=None, lang='bash',
         vals={'iban': 'CH63 0076 2643 7907 0304 9'}),
    dict(cat='financial', sub='salary', stmt='SALARY_OVERRIDES["ewa.zielinska"] = 118500  # base EUR, plus 15% bonus', note="Ewa Zielinska's new base salary is EUR 118,500 from 1 April; keep this off the wiki.", line=None, lang='bash',
         vals={}),
    dict(cat='financial', sub='salary', stmt='payroll_row = ("Marcus Bell", 20417, 143200, 21480)  # name, employee id, salary USD, bonus', note='Payroll export row: Marcus Bell, employee 20417, annual salary $143,200, bonus $21,480.', line='Marcus Bell,20417,143200,21480', lang='text',
         vals={}),
    dict(cat='financial', sub='salary', stmt='offer = {"candidate": "Yuki Tanabe", "base_gbp": 96000, "equity_options": 4000, "sign_on": 10000}', note="Offer for Yuki Tanabe: GBP 96,000 base, 4,000 options and a 10k sign-on; she's also interviewing elsewhere.", line=None, lang='bash',
         vals={}),
    dict(cat='financial', sub='bank_account', stmt='ach = {"routing": "021000021", "account": "4839201175", "holder": "Dana Whitaker"}', note="Dana Whitaker's direct deposit: routing 021000021, account 4839201175.", line=None, lang='bash',
         vals={}),
    dict(cat='financial', sub='bank_account', stmt='BANK_DETAILS = {"name": "Owen Prichard", "sort_code": "20-45-77", "account": "53018842"}', note="Owen Prichard's expenses go to sort code 20-45-77, account 53018842.", line=None, lang='bash',
         vals={}),
    dict(cat='financial', sub='bank_account', stmt='wire = {"beneficiary": "Heike Brandt", "account": "0047339188", "swift": "DEUTDEFFXXX"}', note="Wire instructions from the supplier's CFO: beneficiary Heike Brandt, account 0047339188, SWIFT DEUTDEFFXXX.", line=None, lang='bash',
         vals={}),
    dict(cat='financial', sub='credit_info', stmt='CREDIT_REVIEW = {"customer": "Irene Kowalczyk", "limit": 25000, "balance": "18742.16", "missed_payments": 2}', note="Irene Kowalczyk's credit limit was raised to $25,000; her last statement balance was $18,742.16 with two missed payments.", line=None, lang='bash',
         vals={}),
    dict(cat='financial', sub='payslip', stmt='PAYSLIP_FIXTURE = {"employee": "Mohammed Al-Sayed", "net_pay": "4812.33", "iban": "{=iban}"}', note="Mohammed Al-Sayed's March net pay of AED 4,812.33 bounced from {=iban}.", line=None, lang='bash',
         vals={'iban': 'AE890331357499237482257'}),
    dict(cat='financial', sub='crypto_wallet', stmt='BOUNTY_PAYOUT = {"researcher": "Sam Oduya", "btc": "bc1q7m3xk9v2gq8rj5n0d4lw6hszt3yce8fa2pku9r"}', note="Sam Oduya's personal BTC address for the bounty payout is bc1q7m3xk9v2gq8rj5n0d4lw6hszt3yce8fa2pku9r.", line=None, lang='bash',
         vals={}),
    dict(cat='financial', sub='iban', stmt='REFUND_TO = "{=iban}"  # Ciara Byrne, AIB', note='Ciara Byrne asked for her refund by transfer to {=iban}.', line=None, lang='bash',
         vals={'iban': 'IE03 BOFI 9468 7099 1872 33'}),
    dict(cat='identification', sub='national_id', stmt='applicant = {"name": "Kevin Marsh", "ssn": "521-48-7730", "dob": "1984-07-19"}', note='Kevin Marsh (SSN 521-48-7730, born 1984-07-19) is the applicant on the lease.', line=None, lang='bash',
         vals={}),
    dict(cat='identification', sub='national_id', stmt='BACKGROUND_CHECK = ("Alicia Romero", "287-61-4093", "clear")', note='Background check for Alicia Romero (SSN 287-61-4093) came back clear.', line=None, lang='bash',
         vals={}),
    dict(cat='identification', sub='national_id', stmt='EMPLOYEE_NI = {"Hollie Barker": "JK 47 82 19 C"}', note="Hollie Barker's National Insurance number is JK 47 82 19 C; payroll needs it by Friday.", line=None, lang='bash',
         vals={}),
    dict(cat='identification', sub='national_id', stmt='sin_on_file = "{=sin}"  # Mathilde Gagnon', note="Mathilde Gagnon's SIN {=sin} was typed into the wrong field on the T4 form.", line=None, lang='bash',
         vals={'sin': '101 461 812'}),
    dict(cat='identification', sub='national_id', stmt='steuer_id = "47 036 892 815"  # Anna Koehler', note="Anna Koehler's tax ID (Steuer-ID) is 47 036 892 815.", line=None, lang='bash',
         vals={}),
    dict(cat='identification', sub='national_id', stmt='nir = "{=insee}"  # Sophie Girard, numero de securite sociale', note="Sophie Girard's social security number is {=insee}.", line=None, lang='bash',
         vals={'insee': '2 82 08 69 203 134 48'}),
    dict(cat='identification', sub='national_id', stmt='DNI_CLIENTE = "{=dni}"  # Pablo Navarro', note="Pablo Navarro's DNI {=dni} is on the rental contract.", line=None, lang='bash',
         vals={'dni': '70877780Z'}),
    dict(cat='identification', sub='national_id', stmt='kyc = {"name": "Ananya Iyer", "aadhaar": "{=aadhaar}"}', note='KYC for Ananya Iyer: Aadhaar {=aadhaar}, verified by phone.', line=None, lang='bash',
         vals={'aadhaar': '9004 3775 1275'}),
    dict(cat='identification', sub='national_id', stmt='cpf_titular = "{=cpf}"  # Rafael Lima', note="Rafael Lima's CPF is {=cpf}; he needs it on the nota fiscal.", line=None, lang='bash',
         vals={'cpf': '181.363.035-68'}),
    dict(cat='identification', sub='national_id', stmt='bsn = "{=bsn}"  # Femke Visser', note="Femke Visser's BSN {=bsn} was attached to the ticket by accident.", line=None, lang='bash',
         vals={'bsn': '258746191'}),
    dict(cat='identification', sub='passport', stmt='traveller = {"name": "Nathan Cole", "passport": "567123984", "expires": "2031-03-14"}', note="Nathan Cole's passport 567123984 expires on 14 March 2031; book the visa appointment before then.", line=None, lang='bash',
         vals={}),
    dict(cat='identification', sub='passport', stmt='PASSPORT_SCAN_META = {"holder": "Emily Shaw", "number": "541873026", "nationality": "GBR"}', note='Emily Shaw sent a photo of her passport (no. 541873026) for the conference registration.', line=None, lang='bash',
         vals={}),
    dict(cat='identification', sub='passport', stmt='reisepass = ("Jonas Becker", "C4J7R2K9X")', note="Jonas Becker's Reisepass number is C4J7R2K9X.", line=None, lang='bash',
         vals={}),
    dict(cat='identification', sub='drivers_license', stmt='DRIVER = {"name": "Marisol Vega", "license": "D4471829", "state": "CA", "dob": "1991-05-22"}', note='Marisol Vega, California DL D4471829, DOB 05/22/1991, is cleared to drive the van.', line=None, lang='bash',
         vals={}),
    dict(cat='identification', sub='drivers_license', stmt='licence_no = "WHITE806150DJ9KL"  # Daniel White, DVLA', note="Daniel White's driving licence number is WHITE806150DJ9KL.", line=None, lang='bash',
         vals={}),
    dict(cat='identification', sub='date_of_birth', stmt='USER_DOB = {"beatriz.santos": "1990-02-14"}', note='Beatriz Santos was born on 14/02/1990; check it against her ID scan before unlocking the account.', line=None, lang='bash',
         vals={}),
    dict(cat='identification', sub='date_of_birth', stmt='kyc_failures.append({"user": 55102, "name": "Liam O\'Connell", "dob": "1978-08-23"})', note="User 55102 (Liam O'Connell, born 23 Aug 1978) failed KYC twice.", line=None, lang='bash',
         vals={}),
    dict(cat='identification', sub='national_id', stmt='codice_fiscale = "BNCGLI79E52F205K"  # Giulia Bianco', note="Giulia Bianco's codice fiscale is BNCGLI79E52F205K.", line=None, lang='bash',
         vals={}),
    dict(cat='health', sub='health_note', stmt='SCHEDULING_EXCEPTIONS = {"sunita": "chemo every Thursday until October"}', note="Heads up: Sunita is out for chemo on Thursdays until October, please don't schedule reviews then.", line=None, lang='bash',
         vals={}),
    dict(cat='health', sub='health_note', stmt='ONCALL_NOTES["daniel"] = "type 1 diabetes, needs breaks for insulin during night shifts"', note='Daniel told me in confidence he has been diagnosed with type 1 diabetes; he may need breaks during on-call.', line=None, lang='bash',
         vals={}),
    dict(cat='health', sub='health_note', stmt='patient_note = {"patient": "Grace Adebayo", "mrn": "MRN-0048213", "dx": "major depressive disorder", "rx": "sertraline 100mg"}', note='Grace Adebayo (MRN-0048213) is on sertraline 100mg for major depressive disorder.', line=None, lang='bash',
         vals={}),
    dict(cat='health', sub='health_note', stmt='LEAVE_PLAN = {"megan": "maternity leave from August (not announced yet)"}', note="Megan is pregnant, due in August, and hasn't told the wider team yet; plan the release around her leave.", line=None, lang='bash',
         vals={}),
    dict(cat='health', sub='health_note', stmt='ACCOMMODATIONS["carlos.mendez"] = "epilepsy: no flashing test patterns"', note='Per HR, Carlos Mendez has an approved accommodation for his epilepsy; avoid flashing test patterns in his demos.', line=None, lang='bash',
         vals={}),
    dict(cat='health', sub='health_note', stmt='bug_report = "Mr Hughes logs his insulin doses in the app and lost three days of readings after the update"', note='Ticket from Mr Hughes: he logs his insulin doses in the app and says the last update lost three days of readings.', line=None, lang='bash',
         vals={}),
    dict(cat='health', sub='health_note', stmt='ATTENDEES["Farah Siddiqui"] = {"diet": "severe peanut allergy, carries an EpiPen"}', note='Farah Siddiqui has a severe peanut allergy and carries an EpiPen; tell the caterer.', line=None, lang='bash',
         vals={}),
    dict(cat='health', sub='health_note', stmt='absence = ("Kenji Watanabe", "burnout and anxiety", "signed off 4 weeks from 3 March")', note="Kenji's sick note says burnout and anxiety; he is signed off for four weeks from 3 March.", line=None, lang='bash',
         vals={}),
    dict(cat='health', sub='health_note', stmt='SUPPORT_CASE = "user 30917 wants reminders deleted: partner saw his HIV clinic appointment notification"', note='Support call: user 30917 asked us to delete his reminders because his partner saw the HIV clinic appointment notification.', line=None, lang='bash',
         vals={}),
    dict(cat='location_network', sub='home_location', stmt="HOME_LOCATION = (53.80154, -1.55844)  # Aisha's house, used for the geofence demo", note="The geofence demo is centred on Aisha's house at 53.80154, -1.55844.", line=None, lang='bash',
         vals={}),
    dict(cat='location_network', sub='home_location', stmt='LAUNCH_SITE = {"owner": "Pieter", "lat": 52.08873, "lon": 5.12241}  # his back garden', note="Drone test flights take off from Pieter's back garden at 52.08873, 5.12241.", line=None, lang='bash',
         vals={}),
    dict(cat='location_network', sub='home_ip', stmt='ALLOWLIST = ["86.143.27.190"]  # Jamie Fraser\'s home broadband', note="Whitelisted Jamie Fraser's home IP 86.143.27.190 so he can reach the admin panel.", line='allow 86.143.27.190;  # Jamie Fraser, home', lang='text',
         vals={}),
    dict(cat='location_network', sub='home_ip', stmt='SUSPECT_IP = "73.162.48.211"  # Corey Lambert\'s home Comcast line', note="The brute-force attempts came from 73.162.48.211, Corey Lambert's home Comcast line; he had forgotten his password.", line=None, lang='bash',
         vals={}),
    dict(cat='location_network', sub='mac_address', stmt='KNOWN_DEVICES = {"a4:83:e7:3c:19:5b": "Nadia Rahman\'s iPhone"}', note="The device a4:83:e7:3c:19:5b on the guest network is Nadia Rahman's iPhone.", line=None, lang='bash',
         vals={}),
    dict(cat='location_network', sub='mac_address', stmt='DHCP_RESERVATIONS["f0:18:98:6d:2a:c4"] = "10.0.8.23"  # Ben Carter\'s MacBook, home office', note="DHCP reservation 10.0.8.23 is for f0:18:98:6d:2a:c4, Ben Carter's MacBook in his home office.", line='host ben-carter-mbp { hardware ethernet f0:18:98:6d:2a:c4; fixed-address 10.0.8.23; }', lang='text',
         vals={}),
    dict(cat='location_network', sub='live_location', stmt='last_ping = {"courier": "Tomasz Zielinski", "lat": 51.50721, "lon": -0.12768, "at": "21:14"}', note='Courier Tomasz Zielinski last pinged at 51.50721, -0.12768 at 21:14, right outside his flat.', line=None, lang='bash',
         vals={}),
    dict(cat='location_network', sub='home_ip', stmt='HOME_NETWORK = {"owner": "Mateo Garcia", "public_ip": "94.12.206.77", "ssid": "Garcia-Family-5G"}', note="Mateo Garcia's home connection is 94.12.206.77 (SSID Garcia-Family-5G); that's where the VPN drops come from.", line=None, lang='bash',
         vals={}),
    dict(cat='location_network', sub='live_location', stmt='last_fix = {"user": "lena.voss", "lat": 48.13517, "lon": 11.58198, "ts": "2024-05-02T06:41:09Z"}', note="Lena Voss's phone reported 48.13517, 11.58198 at 06:41 this morning, which is her home address.", line=None, lang='bash',
         vals={}),
    dict(cat='account_profile', sub='account_handle', stmt='BANNED_ACCOUNTS = {"maddie.k.rourke": "Madeleine Rourke (Instagram), banned 2024-02-11"}', note='The harassment reports all point to Instagram user @maddie.k.rourke, i.e. Madeleine Rourke.', line=None, lang='bash',
         vals={}),
    dict(cat='account_profile', sub='account_handle', stmt='RESELLERS["u/quietfalcon_77"] = "Peter Albright"', note='Our biggest reseller posts as u/quietfalcon_77 on Reddit; his real name is Peter Albright.', line=None, lang='bash',
         vals={}),
    dict(cat='account_profile', sub='account_handle', stmt='user_profile = {"username": "jessb_1993", "real_name": "Jessica Brennan", "employer": "St Vincent\'s Hospital"}', note="jessb_1993 on the forum is Jessica Brennan, a nurse at St Vincent's; she asked us not to reveal that.", line=None, lang='bash',
         vals={}),
    dict(cat='account_profile', sub='account_handle', stmt='MODERATORS = {"lucasf#4412": "Lucas Fontaine", "@lfontaine": "Lucas Fontaine (X)"}', note='Moderator Lucas Fontaine is lucasf#4412 on Discord and @lfontaine on X.', line=None, lang='bash',
         vals={}),
    dict(cat='account_profile', sub='account_handle', stmt='REPORTED_PROFILE = ("Hinge", "Sam, 34", "Samuel Okafor, employee 1187")', note="The complaint concerns the Hinge profile 'Sam, 34', which belongs to our employee Samuel Okafor.", line=None, lang='bash',
         vals={}),
    dict(cat='device_incident', sub='device_serial', stmt='STOLEN_ASSETS = {"C02ZK3LHMD6T": "Farah Siddiqui"}', note='MacBook Pro serial C02ZK3LHMD6T, assigned to Farah Siddiqui, was stolen from her car on 12 January.', line=None, lang='bash',
         vals={}),
    dict(cat='device_incident', sub='device_serial', stmt='ASSET_REGISTRY["PF3KX9A2"] = {"owner": "Henrik Solberg", "model": "ThinkPad X1 Carbon Gen 11"}', note='ThinkPad PF3KX9A2 belongs to Henrik Solberg; he takes it home every weekend.', line=None, lang='bash',
         vals={}),
    dict(cat='device_incident', sub='device_serial', stmt='LOST_DEVICE = {"imei": "352914087162554", "owner": "Olga Petrenko", "model": "Pixel 8"}', note="Lost phone: IMEI 352914087162554 (Olga Petrenko's Pixel 8), remote wipe requested.", line=None, lang='bash',
         vals={}),
    dict(cat='device_incident', sub='security_incident', stmt='incident = {"id": "SEC-2291", "device": "iPhone 14, serial F2LZT8Q1N72J", "owner": "Victor Hale", "event": "clicked phishing link"}', note='SEC-2291: Victor Hale clicked the phishing link on his iPhone 14 (serial F2LZT8Q1N72J).', line=None, lang='bash',
         vals={}),
    dict(cat='device_incident', sub='security_incident', stmt='INCIDENT_3310 = ("Rania Haddad", "5CD2391QKP", "malware from her son\'s USB stick")', note="Incident SEC-3310: Rania Haddad's laptop (serial 5CD2391QKP) picked up malware from a USB stick her son brought home.", line=None, lang='bash',
         vals={}),
    dict(cat='media_content', sub='private_message', stmt='DM_EXCERPT = "I can\'t keep covering for him, I think he\'s drinking again. Please don\'t tell anyone. - Sophie"', note="From Sophie's DM to me: 'I can't keep covering for him, I think he's drinking again, please don't tell anyone.'", line=None, lang='bash',
         vals={}),
    dict(cat='media_content', sub='private_message', stmt='SAMPLE_MESSAGE = "hey it\'s Nico, new number. can you lend me 300 till friday? don\'t tell Clara"', note="Text from Nico to his sister, forwarded in the ticket: 'can you lend me 300 till friday? don't tell Clara'.", line=None, lang='bash',
         vals={}),
    dict(cat='media_content', sub='voicemail', stmt='VOICEMAIL = "Hi, it\'s Raul Delgado, my daughter\'s surgery got moved so I can\'t make Tuesday, call me on 0612 447 903"', note="Voicemail transcript: 'Hi, it's Raul Delgado, my daughter's surgery got moved so I can't make Tuesday, call me on 0612 447 903.'", line=None, lang='bash',
         vals={}),
    dict(cat='media_content', sub='private_email', stmt='HR_EMAIL_BODY = "I want it on record that Kevin shouted at me in front of the client again. - Andrea"', note="Andrea's email to HR: 'I want it on record that Kevin shouted at me in front of the client again.'", line=None, lang='bash',
         vals={}),
    dict(cat='ancillary', sub='family_status', stmt='TICKET_7731 = "Helen Frost: remove ex-husband from joint account, divorce final last month, afraid he will find her new address"', note='Ticket 7731: Helen Frost wants her ex-husband removed from the joint account; the divorce was finalised last month and she is afraid he will find her new address.', line=None, lang='bash',
         vals={}),
    dict(cat='ancillary', sub='immigration_status', stmt='VISA_EXPIRY = {"ahmed.karimi": "Skilled Worker visa expires 2024-11-30"}', note="Ahmed Karimi's work visa expires in November and he is anxious about the renewal; keep it off the planning board.", line=None, lang='bash',
         vals={}),
    dict(cat='ancillary', sub='gender_identity', stmt='DIRECTORY_OVERRIDES["javier.morales"] = {"display_name": "Javi", "note": "transitioned, old name only in HR file"}', note='Javi Morales asked us to stop showing his old name in the directory; he came out as trans last month and only HR should know.', line=None, lang='bash',
         vals={}),
    dict(cat='ancillary', sub='criminal_record', stmt='DRIVER_RESTRICTIONS["colin.reeves"] = "pending DUI case, no company vehicles"', note="Per legal, Colin Reeves has a pending DUI case and can't drive the demo van until it is resolved.", line=None, lang='bash',
         vals={}),
    dict(cat='ancillary', sub='religion', stmt='CALENDAR_BLOCKS["yasmin"] = "Fri 12:30-14:00 (Jummah prayers, keep private)"', note='Yasmin asked for no Friday lunchtime meetings because of Jummah prayers; she would rather people not know why.', line=None, lang='bash',
         vals={}),
]

PH = re.compile(r"\{=(\w+)\}")


def fill(template, vals):
    return PH.sub(lambda m: vals[m.group(1)], template) if template else template


# ---------------------------------------------------------------------------
# check-digit helpers (used to validate the inserted values)
# ---------------------------------------------------------------------------
def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    tot = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        tot += d
    return len(digits) >= 9 and tot % 10 == 0


IBAN_LEN = {"DE": 22, "GB": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27, "BE": 16,
            "CH": 21, "AE": 23, "IE": 22, "PL": 28}


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "")
    if len(s) != IBAN_LEN.get(s[:2], -1):
        return False
    t = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in t)) % 97 == 1


def cpf_ok(v):
    d = [int(c) for c in v if c.isdigit()]
    for k in (9, 10):
        r = (sum(x * w for x, w in zip(d[:k], range(k + 1, 1, -1))) * 10) % 11
        if (0 if r == 10 else r) != d[k]:
            return False
    return len(d) == 11


def bsn_ok(v):
    d = [int(c) for c in v]
    return len(d) == 9 and (sum(x * w for x, w in zip(d[:8], range(9, 1, -1))) - d[8]) % 11 == 0


def dni_ok(v):
    return "TRWAGMYFPDXBNJZSQVHLCKE"[int(v[:8]) % 23] == v[8]


def insee_ok(v):
    s = v.replace(" ", "")
    return 97 - int(s[:13]) % 97 == int(s[13:])


_VD = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
       [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
       [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
       [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
_VP = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
       [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
       [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]


def verhoeff_ok(v):
    c = 0
    for i, ch in enumerate(reversed(v.replace(" ", ""))):
        c = _VD[c][_VP[i % 8][int(ch)]]
    return c == 0


VALUE_CHECKS = {"card": luhn_ok, "iban": iban_ok, "sin": luhn_ok, "cpf": cpf_ok, "bsn": bsn_ok,
                "dni": dni_ok, "insee": insee_ok, "aadhaar": verhoeff_ok}

# ---------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------
_LITERAL_LINE = re.compile(
    r"""^\s*(?:[rRbBuUfF]{0,2}(?:"[^"]*"|'[^']*')\s*[:,]?\s*)+[\]\)\}]?,?\s*$"""
    r"""|^\s*[-+0-9.,\sxXa-fA-F_()\[\]{}:]+$""")
GENERATED_MAX_BYTES = 400_000


class Src:
    def __init__(self, rel, pkg, kind, text, lo=0):
        self.rel, self.pkg, self.kind, self.text = rel, pkg, kind, text
        self.lines = text.split("\n")
        self.lo = lo                      # first usable line (METADATA: after headers)
        self.pref = [0]
        for ln in self.lines:
            self.pref.append(self.pref[-1] + len(ln) + 1)
        self.used = []                    # (s, e) line intervals taken
        self._py = None
        self._doc = None

    def slen(self, s, e):
        return self.pref[e] - self.pref[s] - 1

    def sliced(self, s, e):
        return "\n".join(self.lines[s:e])

    def free(self, s, e):
        return len(self.used) < MAX_PER_FILE and all(e <= a or s >= b for a, b in self.used)

    def usable_chars(self):
        return self.pref[-1] - self.pref[self.lo]


def data_table_fraction(text):
    rows = [l for l in text.split("\n") if l.strip() and not l.strip().startswith("#")]
    if len(rows) < 30:
        return 0.0
    return sum(1 for l in rows if _LITERAL_LINE.match(l)) / len(rows)


def find_dist_info(dist):
    hits = sorted(SITE.glob(f"{dist}-*.dist-info"))
    hits = [h for h in hits if re.fullmatch(re.escape(dist) + r"-[0-9][^-]*\.dist-info", h.name)]
    if len(hits) != 1:
        raise SystemExit(f"expected exactly one dist-info for {dist}, found {hits}")
    return hits[0]


def metadata_version(di):
    head = di.joinpath("METADATA").read_text(encoding="utf-8").split("\n\n", 1)[0]
    return email.parser.Parser().parsestr(head + "\n\n")["Version"]


def load_sources(skipped):
    code, docs, versions = [], [], {}
    for pkg, dist in PACKAGES:
        root = SITE / pkg
        if not root.is_dir():
            raise SystemExit(f"package directory missing: {root}")
        di = find_dist_info(dist)
        versions[pkg] = (dist, metadata_version(di), di.name)
        # ---- code ----
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(SITE)
            parts = rel.parts
            if "__pycache__" in parts:
                continue
            if pkg == "moto" and {"data", "resources"} & set(parts[:-1]):
                skipped["moto data/resources folder"] += 1
                continue
            if pkg == "pygments" and ((path.name.startswith("_") and not path.name.startswith("__"))
                                      or path.name == "unistring.py"):
                skipped["pygments data table module"] += 1
                continue
            raw = path.read_bytes()
            if b"\x00" in raw:
                skipped["binary"] += 1
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                skipped["binary"] += 1
                continue
            if "\r" in text:
                skipped["CR line endings"] += 1
                continue
            if len(raw) > GENERATED_MAX_BYTES:
                skipped["generated/data file > 400 kB"] += 1
                continue
            if data_table_fraction(text) >= 0.75:
                skipped["mostly literal data table"] += 1
                continue
            if len(text) < MIN_LEN:
                skipped["shorter than one chunk"] += 1
                continue
            code.append(Src(str(rel), pkg, "py", text))
        # ---- docs: METADATA long description ----
        meta = di / "METADATA"
        text = meta.read_text(encoding="utf-8")
        head = text.split("\n\n", 1)[0]
        ctype = (email.parser.Parser().parsestr(head + "\n\n").get("Description-Content-Type") or "").lower()
        kind = "md" if "markdown" in ctype else "rst" if "rst" in ctype else "txt"
        docs.append(Src(f"{di.name}/METADATA", pkg, kind, text, lo=head.count("\n") + 2))
        # ---- docs: shipped .md/.rst/.txt (not for moto, which is limited to .py) ----
        if pkg == "moto":
            continue
        for base in (root, di):
            for path in sorted(base.rglob("*")):
                if path.suffix.lower() not in (".md", ".rst", ".txt") or "__pycache__" in path.parts:
                    continue
                if path.name in ("entry_points.txt", "top_level.txt"):
                    continue
                text = path.read_text(encoding="utf-8", errors="replace")
                words = [len(l.split()) for l in text.split("\n") if l.strip()]
                if len(words) > 50 and sorted(words)[len(words) // 2] <= 1:
                    skipped["word-list data file"] += 1
                    continue
                k = {".md": "md", ".rst": "rst", ".txt": "txt"}[path.suffix.lower()]
                docs.append(Src(str(path.relative_to(SITE)), pkg, k, text))
    docs = [d for d in docs if d.usable_chars() >= MIN_LEN]
    return code, docs, versions


# ---------------------------------------------------------------------------
# chunking
# ---------------------------------------------------------------------------
def trim_end(src, s, e):
    while e > s + 1 and not src.lines[e - 1].strip():
        e -= 1
    return e


def end_for(src, s, target):
    """smallest e such that slen(s, e) >= target, or None"""
    want = src.pref[s] + target + 1
    e = bisect.bisect_left(src.pref, want)
    return e if e < len(src.pref) else None


def tile_doc(src, rng):
    out, i, n = [], src.lo, len(src.lines)
    while len(out) < MAX_PER_FILE:
        while i < n and not src.lines[i].strip():
            i += 1
        if i >= n:
            break
        e = end_for(src, i, rng.randint(MIN_LEN, MAX_LEN))
        if e is None:
            e = trim_end(src, i, n)
            if src.slen(i, e) < MIN_LEN:
                break
        e = trim_end(src, i, e)
        while src.slen(i, e) > MAX_LEN and e > i + 1:
            e = trim_end(src, i, e - 1)
        if MIN_LEN <= src.slen(i, e) <= MAX_LEN:
            out.append((i, e))
            i = e
        else:
            i += 1
    return out


def cut(src, lo, hi, rng, tries=12):
    lo = max(lo, 200)
    n = len(src.lines)
    for _ in range(tries):
        s = rng.randrange(src.lo, n)
        if not src.lines[s].strip():
            continue
        e = end_for(src, s, rng.randint(lo, hi))
        if e is None:
            continue
        e = trim_end(src, s, e)
        if lo <= src.slen(s, e) <= hi and src.free(s, e):
            return s, e
    return None


def weighted_pick(rng, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


# ---------------------------------------------------------------------------
# python structure (statement starts, docstrings) + compile check
# ---------------------------------------------------------------------------
def compiles(text, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, name, "exec", dont_inherit=True)
            return True
        except (SyntaxError, ValueError):
            return False


def py_info(src):
    if src._py is None:
        info = False
        if compiles(src.text, src.rel):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(src.text)
            starts, spans = {}, []
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    b0 = node.body[0] if node.body else None
                    if (isinstance(b0, ast.Expr) and isinstance(b0.value, ast.Constant)
                            and isinstance(b0.value.value, str) and b0.end_lineno > b0.lineno):
                        a, b = b0.lineno - 1, b0.end_lineno - 1
                        opener = src.lines[a].lstrip()
                        if opener.startswith(('"""', "'''")):
                            spans.append((a, b, opener[:3]))
                if not isinstance(node, ast.stmt):
                    continue
                if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    continue
                decos = getattr(node, "decorator_list", None) or []
                ln = min([node.lineno] + [d.lineno for d in decos]) - 1
                line = src.lines[ln]
                body = line.lstrip()
                ws = line[: len(line) - len(body)]
                if body.startswith(("elif ", "elif(", "else", "except", "finally")):
                    continue
                if decos and not body.startswith("@"):
                    continue
                if not decos and len(ws) != node.col_offset:
                    continue
                starts[ln] = ws
            info = (starts, spans)
        src._py = info
    return src._py


# ---------------------------------------------------------------------------
# doc structure (code blocks)
# ---------------------------------------------------------------------------
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
RST_DIRECTIVE = re.compile(r"^(\s*)\.\. (?:code-block|code|sourcecode)::\s*(\S*)")
PY_LANGS = {"python", "py", "python3", "pycon", "ipython", "pytb"}


def doc_info(src):
    """per line: flag (0 text, 1 fence open, 3 fence close, 2 code content),
    block id; per block: (indent, lang)"""
    if src._doc is not None:
        return src._doc
    n = len(src.lines)
    flag, bid, blocks = [0] * n, [-1] * n, []
    if src.kind == "md":
        i = 0
        while i < n:
            m = FENCE.match(src.lines[i])
            if m:
                j = i + 1
                while j < n and not src.lines[j].lstrip().startswith(m.group(2)[:3]):
                    j += 1
                blocks.append((m.group(1), m.group(3).lower()))
                flag[i] = 1
                for k in range(i + 1, min(j, n)):
                    flag[k], bid[k] = 2, len(blocks) - 1
                if j < n:
                    flag[j] = 3
                i = j + 1
            else:
                i += 1
    elif src.kind == "rst":
        i = 0
        while i < n:
            line = src.lines[i]
            m = RST_DIRECTIVE.match(line)
            if m or (line.rstrip().endswith("::") and not line.lstrip().startswith("..")):
                base = len(line) - len(line.lstrip())
                lang = (m.group(2).lower() if m else "")
                j = i + 1
                while j < n and (not src.lines[j].strip() or src.lines[j].lstrip().startswith(":")) \
                        and (not src.lines[j].strip() or len(src.lines[j]) - len(src.lines[j].lstrip()) > base):
                    j += 1
                k = j
                while k < n and (not src.lines[k].strip() or len(src.lines[k]) - len(src.lines[k].lstrip()) > base):
                    k += 1
                while k > j and not src.lines[k - 1].strip():
                    k -= 1
                if k > j:
                    content = [l for l in src.lines[j:k] if l.strip()]
                    ind = min(len(l) - len(l.lstrip()) for l in content)
                    if not lang:
                        first = content[0].strip()
                        lang = "pycon" if first.startswith(">>>") else "console" if first.startswith("$ ") else ""
                    blocks.append((" " * ind, lang))
                    for q in range(j, k):
                        flag[q], bid[q] = 2, len(blocks) - 1
                    i = k
                    continue
            i += 1
    src._doc = (flag, bid, blocks)
    return src._doc


# ---------------------------------------------------------------------------
# rendering of one pool item
# ---------------------------------------------------------------------------
def wrap_text(text, width, vals):
    """wrap each newline-separated part; values containing spaces are never split"""
    for v in sorted((v for v in vals.values() if " " in v), key=len, reverse=True):
        text = text.replace(v, v.replace(" ", "\x01"))
    out = []
    for part in text.split("\n"):
        w = textwrap.wrap(part, width=width, break_long_words=False, break_on_hyphens=False)
        out.extend(w or [""])
    return [l.replace("\x01", " ") for l in out]


def note_of(item):
    return fill(item["note"], item["vals"]) if item["note"] else None


def docstring_safe(text):
    return text is not None and "\\" not in text and '"""' not in text and "'''" not in text


def render_stmt(item, indent, prompt=False):
    txt = fill(item["stmt"], item["vals"])
    ls = txt.split("\n")
    if prompt:
        return [indent + (">>> " if i == 0 else "... ") + l for i, l in enumerate(ls)]
    if '"""' in txt:
        return [indent + ls[0]] + ls[1:]
    return [indent + l for l in ls]


def render_comment(item, indent):
    width = max(40, 79 - len(indent) - 2)
    return [indent + ("# " + l if l else "#") for l in wrap_text(note_of(item), width, item["vals"])]


def render_docstring(item, indent):
    width = max(40, 79 - len(indent))
    return [indent + l if l else "" for l in wrap_text(note_of(item), width, item["vals"])]


def render_line(item, indent, prompt=""):
    ls = fill(item["line"], item["vals"]).split("\n")
    return [indent + (prompt if i == 0 else "") + l for i, l in enumerate(ls)]


FENCE_LANG = {"bash": "bash", "env": "bash", "ini": "ini", "yaml": "yaml", "text": "text",
              "sql": "sql", "http": "http", "hcl": "hcl"}


# ---------------------------------------------------------------------------
# insertion
# ---------------------------------------------------------------------------
def assemble(src, s, e, p, ins):
    return "\n".join(src.lines[s:p] + ins + src.lines[p:e])


def try_code_insert(src, s, e, item, form, rng):
    info = py_info(src)
    if not info:
        return None
    starts, spans = info
    cands = []
    if form in ("stmt", "comment"):
        for p in range(s + 1, e):
            if p in starts:
                cands.append((p, starts[p], None))
    else:
        for a, b, q in spans:
            ind = src.lines[a][: len(src.lines[a]) - len(src.lines[a].lstrip())]
            for p in range(max(a + 1, s + 1), min(b, e - 1) + 1):
                prev, cur = src.lines[p - 1].strip(), src.lines[p].strip()
                if prev.startswith((">>>", "...")) or cur.startswith((">>>", "...")):
                    continue
                if not prev and cur:
                    cands.append((p, ind, "para", b))
                elif p == b and prev:
                    cands.append((p, ind, "tail", b))
                elif prev and cur and rng.random() < 0.25:
                    cands.append((p, ind, "inline", b))
        paras = [c for c in cands if c[2] != "inline"]
        cands = paras if paras and rng.random() < 0.8 else cands
    b_end = {c[0]: c[3] for c in cands if len(c) > 3}
    cands = [c[:3] for c in cands]
    rng.shuffle(cands)
    for p, ind, mode in cands[:8]:
        if form == "stmt":
            ins = render_stmt(item, ind)
        elif form == "comment":
            ins = render_comment(item, ind)
        else:
            ins = render_docstring(item, ind)
            if mode == "para" and p != b_end.get(p):
                ins = ins + [""]
            elif mode == "tail":
                ins = [""] + ins
        text = assemble(src, s, e, p, ins)
        if not MIN_LEN <= len(text) <= MAX_LEN:
            continue
        full = "\n".join(src.lines[:p] + ins + src.lines[p:])
        if not compiles(full, src.rel):
            continue
        return text, ins, p
    return None


def try_doc_insert(src, s, e, item, form, rng):
    flag, bid, blocks = doc_info(src)
    lines = src.lines
    para_pos = [p for p in range(s + 1, e)
                if not lines[p - 1].strip() and lines[p].strip() and not lines[p][0].isspace()
                and flag[p] in (0, 1) and flag[p - 1] in (0, 3)]
    options = []
    if form == "prose":
        note = note_of(item)
        for p in para_pos:
            options.append((p, wrap_text(note, 79, item["vals"]) + [""]))
    else:
        inside = [p for p in range(s + 1, e) if flag[p - 1] == 2 and lines[p - 1].strip() and flag[p] in (2, 3)]
        for p in inside:
            ind, lang = blocks[bid[p - 1]]
            prev = lines[p - 1].lstrip()
            if lang in PY_LANGS or prev.startswith(">>>"):
                cur = lines[p]
                if prev.startswith((">>>", "...")) or cur.lstrip().startswith(">>>"):
                    if flag[p] == 2 and not cur.lstrip().startswith(">>>"):
                        continue            # would split a prompt from its output
                    options.append((p, render_stmt(item, ind, prompt=True)))
                else:
                    if flag[p] == 2 and cur.strip():
                        ind = cur[: len(cur) - len(cur.lstrip())]
                    options.append((p, render_stmt(item, ind)))
            elif item["line"]:
                prompt = "$ " if prev.startswith("$ ") and item["lang"] == "bash" else ""
                options.append((p, render_line(item, ind, prompt)))
        if not options:
            for p in para_pos:
                if item["line"]:
                    body, lang = render_line(item, ""), FENCE_LANG[item["lang"]]
                else:
                    body, lang = render_stmt(item, ""), "python"
                if src.kind == "md":
                    options.append((p, ["```" + lang] + body + ["```", ""]))
                else:
                    options.append((p, [".. code-block:: " + lang, ""] + ["    " + l if l else "" for l in body] + [""]))
    rng.shuffle(options)
    for p, ins in options[:8]:
        text = assemble(src, s, e, p, ins)
        if MIN_LEN <= len(text) <= MAX_LEN:
            return text, ins, p
    return None


def code_forms(item, rng):
    note = note_of(item)
    forms = ["stmt"] * 5
    if note:
        forms += ["comment"] * 3
        if docstring_safe(note):
            forms += ["docstring"] * 2
    first = rng.choice(forms)
    rest = [f for f in ("stmt", "comment", "docstring") if f in forms and f != first]
    return [first] + rest


def doc_forms(item, src, rng):
    note = note_of(item)
    forms = []
    if note and "\n" not in note:
        forms += ["prose"] * 6
    if src.kind in ("md", "rst"):
        forms += ["block"] * 4
    if not forms:
        return []
    first = rng.choice(forms)
    return [first] + [f for f in ("prose", "block") if f in forms and f != first]


def est_len(item):
    note = note_of(item) or ""
    return max(len(fill(item["stmt"], item["vals"])), len(note) + 8 * (1 + len(note) // 70)) + 10


# ---------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------
def row_source(src, s):
    return f"{src.rel}:{s + 1}"


def build():
    rng = random.Random(SEED)
    skipped = Counter()
    code, docs, versions = load_sources(skipped)

    # ---------- item schedule ----------
    by_cat = defaultdict(list)
    for idx, it in enumerate(POOL):
        by_cat[it["cat"]].append(idx)
    schedule = []
    for cat, want in CATEGORY_TARGETS.items():
        idxs = by_cat[cat][:]
        if len(idxs) * MAX_ITEM_USES < want:
            raise SystemExit(f"pool too small for {cat}")
        rng.shuffle(idxs)
        first, second = idxs[:], idxs[:]
        rng.shuffle(second)
        schedule += (first + second)[:want]
    rng.shuffle(schedule)

    # ---------- doc chunks ----------
    doc_chunks = []
    for src in docs:
        for s, e in tile_doc(src, rng):
            doc_chunks.append((src, s, e))
    rng.shuffle(doc_chunks)
    n_doc_clean = min(math.ceil(len(doc_chunks) / 2), round(N_CLEAN * DOC_SHARE))
    n_doc_ins = min(len(doc_chunks) - n_doc_clean, round(N_INSERTED * DOC_SHARE))

    clean_rows, ins_rows, meta = [], [], []   # meta is aligned with clean_rows + ins_rows
    clean_meta, ins_meta = [], []
    for src, s, e in doc_chunks[:n_doc_clean]:
        src.used.append((s, e))
        clean_rows.append({"text": src.sliced(s, e), "sensitive": False, "category": "none",
                           "kind": "long_clean", "source": row_source(src, s)})
        clean_meta.append(("clean", src, "doc", None, None))

    pending = schedule[:]
    for src, s, e in doc_chunks[n_doc_clean:n_doc_clean + n_doc_ins]:
        order = list(range(len(pending)))
        rng.shuffle(order)
        done = None
        for oi in order[:60]:
            item = POOL[pending[oi]]
            for form in doc_forms(item, src, rng):
                for e2 in range(e, s + 1, -1):
                    if e2 < e and not src.lines[e2 - 1].strip():
                        continue
                    base = src.slen(s, e2)
                    if base + 40 > MAX_LEN:
                        continue
                    if base + est_len(item) + 200 < MIN_LEN:
                        break
                    r = try_doc_insert(src, s, e2, item, form, rng)
                    if r:
                        done = (oi, form, e2, r)
                        break
                if done:
                    break
            if done:
                break
        if not done:
            continue
        oi, form, e2, (text, ins, p) = done
        idx = pending.pop(oi)
        src.used.append((s, e2))
        ins_rows.append(_ins_row(text, ins, POOL[idx], src, s))
        ins_meta.append(("ins", src, "doc", idx, form))

    # ---------- code chunks ----------
    pkgs = sorted({c.pkg for c in code})
    files_by_pkg = {p: [c for c in code if c.pkg == p] for p in pkgs}
    pkg_w = [math.sqrt(sum(len(c.text) for c in files_by_pkg[p])) for p in pkgs]
    file_w = {p: [math.sqrt(len(c.text)) for c in files_by_pkg[p]] for p in pkgs}

    def pick_file():
        p = weighted_pick(rng, pkgs, pkg_w)
        return weighted_pick(rng, files_by_pkg[p], file_w[p])

    tasks = [None] * (N_CLEAN - len(clean_rows)) + pending
    rng.shuffle(tasks)
    for task in tasks:
        for attempt in range(400):
            src = pick_file()
            if len(src.used) >= MAX_PER_FILE:
                continue
            if task is None:
                r = cut(src, MIN_LEN, MAX_LEN, rng)
                if not r:
                    continue
                s, e = r
                src.used.append((s, e))
                clean_rows.append({"text": src.sliced(s, e), "sensitive": False, "category": "none",
                                   "kind": "long_clean", "source": row_source(src, s)})
                clean_meta.append(("clean", src, "code", None, None))
                break
            item = POOL[task]
            if not py_info(src):
                continue
            form = code_forms(item, rng)[0] if attempt < 300 else "stmt"
            est = len("\n".join(render_stmt(item, " " * 8) if form == "stmt" else
                                render_comment(item, " " * 8) if form == "comment" else
                                render_docstring(item, " " * 8))) + 2
            r = cut(src, MIN_LEN - est, MAX_LEN - est, rng, tries=4)
            if not r:
                continue
            s, e = r
            res = try_code_insert(src, s, e, item, form, rng)
            if not res:
                continue
            text, ins, p = res
            src.used.append((s, e))
            ins_rows.append(_ins_row(text, ins, item, src, s))
            ins_meta.append(("ins", src, "code", task, form))
            break
        else:
            raise SystemExit(f"could not place task {task!r}")

    rows = clean_rows + ins_rows
    meta = clean_meta + ins_meta
    order = list(range(len(rows)))
    rng.shuffle(order)
    rows = [rows[i] for i in order]
    meta = [meta[i] for i in order]
    OUT_JSONL.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    stats = validate(rows, meta)
    write_readme(rows, meta, versions, skipped, code, docs, doc_chunks, stats)
    return rows


def _ins_row(text, ins, item, src, s):
    core = "\n".join(ins).strip("\n")
    return {"text": text, "sensitive": True, "category": item["cat"], "kind": "long_inserted",
            "source": row_source(src, s), "inserted": core}


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
CARD_RE = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")


def _source_lines(cache, rel):
    if rel not in cache:
        cache[rel] = (SITE / rel).read_text(encoding="utf-8").split("\n")
    return cache[rel]


def validate(rows=None, meta=None):
    """Checks the written file; returns a dict of stats.  Raises on failure."""
    problems = []
    raw = OUT_JSONL.read_text(encoding="utf-8").splitlines()
    parsed = [json.loads(l) for l in raw]          # every line must parse
    if rows is not None and parsed != rows:
        problems.append("file content differs from built rows")
    rows = parsed
    keys_clean = {"text", "sensitive", "category", "kind", "source"}
    kinds = Counter(r["kind"] for r in rows)
    if len(rows) != N_CLEAN + N_INSERTED or kinds["long_clean"] != N_CLEAN or kinds["long_inserted"] != N_INSERTED:
        problems.append(f"counts wrong: {len(rows)} {kinds}")
    cats = Counter(r["category"] for r in rows if r["sensitive"])
    if dict(cats) != {k: v for k, v in CATEGORY_TARGETS.items()}:
        problems.append(f"category counts wrong: {cats}")
    cache, intervals, per_file, compiled = {}, defaultdict(list), Counter(), 0
    for i, r in enumerate(rows):
        want = keys_clean | ({"inserted"} if r["kind"] == "long_inserted" else set())
        if set(r) != want:
            problems.append(f"row {i}: keys {sorted(r)}")
        if not MIN_LEN <= len(r["text"]) <= MAX_LEN:
            problems.append(f"row {i}: length {len(r['text'])}")
        if r["sensitive"] != (r["kind"] == "long_inserted") or (r["category"] == "none") == r["sensitive"]:
            problems.append(f"row {i}: label fields inconsistent")
        rel, _, ln = r["source"].rpartition(":")
        s = int(ln) - 1
        lines = _source_lines(cache, rel)
        if r["kind"] == "long_clean":
            base = r["text"]
        else:
            core = r["inserted"]
            if r["text"].count(core) < 1 or not core.strip():
                problems.append(f"row {i}: inserted text not found")
                continue
            base = None
            for variant in (core, core + "\n", "\n" + core, "\n" + core + "\n"):
                cand = r["text"].replace("\n" + variant, "", 1)
                k = cand.count("\n") + 1
                if cand == "\n".join(lines[s:s + k]):
                    base = cand
                    ins_lines = variant.split("\n")
                    break
            if base is None:
                problems.append(f"row {i}: removing the insertion does not give an exact source slice")
                continue
        k = base.count("\n") + 1
        if base != "\n".join(lines[s:s + k]):
            problems.append(f"row {i}: not an exact slice of {r['source']}")
            continue
        intervals[rel].append((s, s + k, i))
        per_file[rel] += 1
        if r["kind"] == "long_inserted" and rel.endswith(".py"):
            full_lines = r["text"].split("\n")
            full = "\n".join(lines[:s] + full_lines + lines[s + k:])
            if not compiles(full, rel):
                problems.append(f"row {i}: {rel} no longer compiles")
            compiled += 1
        if r["kind"] == "long_inserted":
            core = r["inserted"]
            for m in IBAN_RE.finditer(core):
                if m.group(0).replace(" ", "")[:2] in IBAN_LEN and not iban_ok(m.group(0)):
                    problems.append(f"row {i}: bad IBAN {m.group(0)}")
            if r["category"] == "financial":
                masked = IBAN_RE.sub("", core)
                for m in CARD_RE.finditer(masked):
                    digits = re.sub(r"\D", "", m.group(0))
                    if 13 <= len(digits) <= 19 and not luhn_ok(digits):
                        problems.append(f"row {i}: card-like number fails Luhn: {m.group(0)}")
    for rel, iv in intervals.items():
        iv.sort()
        for (a1, b1, i1), (a2, b2, i2) in zip(iv, iv[1:]):
            if a2 < b1:
                problems.append(f"rows {i1}/{i2} overlap in {rel}")
        if per_file[rel] > MAX_PER_FILE:
            problems.append(f"{rel}: {per_file[rel]} chunks")
    if len({r["text"] for r in rows}) != len(rows):
        problems.append("duplicate texts")
    item_uses = Counter()
    if meta is not None:
        for (kind, src, fmt, idx, form), r in zip(meta, rows):
            if idx is None:
                continue
            item_uses[idx] += 1
            it = POOL[idx]
            flat = " ".join(r["inserted"].split())
            for key, val in it["vals"].items():
                if " ".join(val.split()) not in flat and key in VALUE_CHECKS:
                    problems.append(f"value {key} of item {idx} missing from its insertion")
        if max(item_uses.values()) > MAX_ITEM_USES:
            problems.append("an item is used more than twice")
    # pool sanity
    sigs = [(it["stmt"], tuple(sorted(it["vals"].items()))) for it in POOL]
    if len(set(sigs)) != len(POOL) or len(POOL) < 150:
        problems.append("pool items not distinct or fewer than 150")
    for n, it in enumerate(POOL):
        for key, val in it["vals"].items():
            chk = VALUE_CHECKS.get(re.sub(r"\d+$", "", key))
            if chk and not chk(val):
                problems.append(f"pool item {n}: {key}={val} fails its check digit")
        if not compiles(fill(it["stmt"], it["vals"]), f"<pool {n}>"):
            problems.append(f"pool item {n}: stmt does not compile")
    if problems:
        for p in problems[:50]:
            print("FAIL:", p, file=sys.stderr)
        raise SystemExit(f"validation failed ({len(problems)} problems)")
    return {"rows": len(rows), "compiled_files": compiled, "item_uses": item_uses,
            "distinct_items_used": len(item_uses), "files": len(per_file)}


# ---------------------------------------------------------------------------
# README
# ---------------------------------------------------------------------------
def write_readme(rows, meta, versions, skipped, code, docs, doc_chunks, stats):
    def table(counter, head):
        out = [f"| {head} | rows |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]
        return "\n".join(out)

    fmt = Counter((m[0], m[2]) for m in meta)
    forms = Counter(m[4] for m in meta if m[0] == "ins")
    pk_clean = Counter(m[1].pkg for m in meta if m[0] == "clean")
    pk_ins = Counter(m[1].pkg for m in meta if m[0] == "ins")
    cats = Counter(r["category"] for r in rows if r["sensitive"])
    subs = Counter(POOL[m[3]]["sub"] for m in meta if m[0] == "ins")
    doc_src = Counter(m[1].rel for m in meta if m[2] == "doc")
    lens = sorted(len(r["text"]) for r in rows)
    ver_rows = "\n".join(f"| {pkg} | {dist} | {ver} |" for pkg, (dist, ver, _) in versions.items())
    pk_rows = "\n".join(f"| {p} | {pk_clean.get(p, 0)} | {pk_ins.get(p, 0)} |"
                        for p, _ in PACKAGES)
    doc_total_chars = sum(d.usable_chars() for d in docs)
    n_doc_clean, n_doc_ins = fmt[("clean", "doc")], fmt[("ins", "doc")]
    text = f"""# long_c — long developer-content evaluation set (held out)

`long_c.jsonl` holds {len(rows)} rows of ~1,500-character chunks of public
projects' source code and documentation, for evaluating the privacy detector
on long inputs.  **It was written separately from the detector and from the
other evaluation sets, and it has never been used to train or tune anything.**
Do not train on it, tune thresholds on it or copy its items into training data.

* {N_CLEAN} `long_clean` rows (`sensitive: false`, `category: "none"`):
  unmodified contiguous slices, cut at line boundaries, {MIN_LEN}–{MAX_LEN}
  characters, of `.py` files and docs.  Clean chunks are never filtered or
  edited by content: whatever the upstream code contains (example keys, test
  hashes, IP addresses, author e-mails) stays in and counts as clean.
* {N_INSERTED} `long_inserted` rows (`sensitive: true`): *other* slices of the same
  kind of files, each with exactly one invented sensitive item inserted at a
  line boundary, shaped to fit the surrounding text.  The field `inserted` is
  the exact inserted text (without surrounding blank lines); `category` is the
  item's category.  Final lengths are also {MIN_LEN}–{MAX_LEN} characters
  (the base slice is shortened so that length does not give the label away).

Row fields: `text`, `sensitive`, `category`, `kind`, `source`
(`<path relative to site-packages>:<first line, 1-based>`), and `inserted`
for inserted rows.  Lengths: min {lens[0]}, median {lens[len(lens)//2]}, max {lens[-1]}.

## Sources

Only files of these installed packages in the system Python's site-packages
(`{SITE}`) were read:

| import dir | distribution | version |
|---|---|---|
{ver_rows}

* code: their `.py` files (for moto only `.py` files outside any `data/` or
  `resources/` folder);
* docs: the Markdown/reST long description in each `*.dist-info/METADATA`
  and the `.md`/`.rst`/`.txt` files shipped inside the packages and their
  dist-info folders (licence texts included; moto contributes only its
  METADATA description, because it is limited to `.py` files).

Files skipped (file-level, by structure or size, never by sensitive content):
{dict(sorted(skipped.items()))}.  Pygments lexer data tables
(`pygments/**/_*.py`, `unistring.py`) are excluded; lexer code is kept.
Not used at all: botocore, boto3, attrs, jinja2, werkzeug, charset_normalizer,
click, cffi, blinker, cloudpickle, IPython, aws_xray_sdk, cfnlint, asttokens,
the standard library, the project's own `.venv`, other evaluation sets.

Rows per package (code + docs):

| package | clean | inserted |
|---|---|---|
{pk_rows}

Chunks come from {stats['files']} different files, at most {MAX_PER_FILE} per file (counting
clean and inserted rows together), and no two chunks overlap.

### Docs share (shortfall)

The brief asked for about {int(DOC_SHARE*100)}% docs.  The allowed doc text is small: the
{len(docs)} doc files long enough for one chunk hold only {doc_total_chars:,} characters, which
tile into {len(doc_chunks)} non-overlapping chunks.  They were split evenly between the two
halves so that "is a doc" does not predict the label: **{n_doc_clean} clean and {n_doc_ins}
inserted rows are docs** ({100*(n_doc_clean)/N_CLEAN:.1f}% / {100*n_doc_ins/N_INSERTED:.1f}%); all
other rows are Python code ({fmt[('clean','code')]} clean, {fmt[('ins','code')]} inserted).
Docstrings and comments inside the code supply most of the prose.

Doc files used: {", ".join(f"`{k}` ({v})" for k, v in sorted(doc_src.items()))}.

## Inserted items

A pool of {len(POOL)} distinct hand-written items lives in `make_long_c.py` (`POOL`):
every name, address, number, key and password in it is invented (keys use the
real prefixes/shapes; card numbers pass Luhn, IBANs have valid check digits,
SIN/CPF/BSN/DNI/INSEE/Aadhaar values have valid check digits).  Each item has
a Python statement, and usually a sentence (for `#` comments, docstrings and
doc paragraphs) and a shell/config line (for code blocks in docs).
{stats['distinct_items_used']} items were used, none more than {MAX_ITEM_USES} times.

{table(cats, "category")}

Insertion shapes (code: `stmt` = statement at the indentation of the next
statement, `comment`, `docstring` = sentence/paragraph inside an existing
docstring; docs: `prose` = new paragraph, `block` = line inside an existing
code block or a new fenced / `code-block` block):

{table(forms, "form")}

Sub-types:

{table(subs, "sub-type")}

## Validation (run automatically after building)

* every line parses as JSON with exactly the fields above; 300/300 split and
  per-category counts as listed; every text is {MIN_LEN}–{MAX_LEN} characters;
* every clean text is an exact slice of its source file starting at the
  recorded line; removing `inserted` from an inserted text gives back an exact
  slice; no two chunks overlap; at most {MAX_PER_FILE} per file; no duplicates;
* every inserted `.py` chunk was put back into its full file and the file
  still compiles ({stats['compiled_files']} chunks);
* card numbers (Luhn), IBANs (mod 97) and the national-ID check digits of the
  pool are verified, and each checked value appears in its insertion;
* pool items are distinct, at least 150, and each statement compiles.

## Rebuild

```
/root/.pyenv/versions/3.11.7/bin/python tests/data/privacy_eval/make_long_c.py
/root/.pyenv/versions/3.11.7/bin/python tests/data/privacy_eval/make_long_c.py --check
```

The build uses `random.Random({SEED})` only and reads nothing but the files
listed above; the same package versions give the same output.  It takes about
ten seconds on one core.
"""
    OUT_README.write_text(text, encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only validate the existing long_c.jsonl")
    args = ap.parse_args()
    if args.check:
        st = validate()
        print(f"ok: {st['rows']} rows, {st['compiled_files']} inserted .py chunks compile")
        return
    rows = build()
    c = Counter(r["kind"] for r in rows)
    print(f"wrote {OUT_JSONL} ({len(rows)} rows: {dict(c)}) and {OUT_README}")


if __name__ == "__main__":
    main()
