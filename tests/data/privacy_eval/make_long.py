#!/usr/bin/env python3
"""Build the held-out *long developer content* privacy evaluation set.

Output (next to this script):
  long.jsonl      600 rows: 300 clean ~1,500-char chunks of public package code
                  and docs, and 300 chunks of the same kind with exactly one
                  hand-written sensitive item inserted at a line boundary.
  README-long.md  description, sources + versions, counts, rebuild instructions.

The only inputs are installed third-party package sources in one Python
site-packages directory (default: the system pyenv 3.11.7 one, override with
--site or PRIVACY_EVAL_SITE).  Nothing from the Python standard library and
nothing from the project's own virtualenv is read.  Everything random goes
through random.Random(7), all file lists are sorted, so with the same package
versions the output is byte-for-byte identical.

This set was written independently of the detector and must never be used
to train or tune it.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import re
import sys
import tokenize
from collections import Counter, defaultdict
from pathlib import Path

SEED = 7
DEFAULT_SITE = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages"
OUT_DIR = Path(__file__).resolve().parent
OUT_JSONL = OUT_DIR / "long.jsonl"
OUT_README = OUT_DIR / "README-long.md"

N_CLEAN = 300
N_INSERTED = 300
DOC_SHARE = 0.30            # share of doc (METADATA / .rst) chunks in each half
MIN_LEN, MAX_LEN = 1300, 1700
TARGET_LO, TARGET_HI = 1400, 1600
PER_FILE_CAP = 5            # max code chunks taken from one .py file
MAX_USES = 3                # max uses of one pool item
DATA_TABLE_SHARE = 0.75     # skip .py files whose non-blank lines are mostly literals

# (distribution name, import roots that belong to it)
PROJECTS = [
    ("botocore", ["botocore"]),
    ("boto3", ["boto3"]),
    ("attrs", ["attr", "attrs"]),
    ("jinja2", ["jinja2"]),
    ("werkzeug", ["werkzeug"]),
    ("charset_normalizer", ["charset_normalizer"]),
]
EXPECTED_VERSIONS = {
    "botocore": "1.43.11", "boto3": "1.43.11", "attrs": "26.1.0",
    "jinja2": "3.1.6", "werkzeug": "3.1.8", "charset_normalizer": "3.4.7",
}
# botocore/data is the JSON service-model folder; botocore/vendored holds
# copies of six/requests/urllib3 that are not botocore's own code.
EXCLUDE_DIRS = ("botocore/data", "botocore/vendored")
# reST documentation shipped inside a package (besides the METADATA README)
EXTRA_DOCS = ["boto3/examples/cloudfront.rst", "boto3/examples/s3.rst"]

CATEGORY_QUOTA = [
    ("authentication", 120), ("contact", 45), ("financial", 45),
    ("identification", 30), ("health", 15), ("location_network", 15),
    ("account_profile", 9), ("device_incident", 8), ("media_content", 6),
    ("ancillary", 7),
]

# ---------------------------------------------------------------------------
# Hand-written pool of sensitive items: "category|form|text", one per line.
# All names, numbers, keys and addresses are invented for this file.
# Forms: code (a Python statement), prose (a sentence), shell, env, yaml,
# json, ini (config-style lines).  PEM blocks are listed separately below.
# ---------------------------------------------------------------------------
POOL_TEXT = r"""
authentication|code|OPENAI_API_KEY = "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"
authentication|code|client = OpenAI(api_key="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")
authentication|code|llm_headers = {"Authorization": "Bearer sk-proj-0fL7jY9H2MvwCzuLmrNobDjn4q3w4uEwLeT-ZH2Ve_mSAYGuG_mXKmtrVU1Viz3QT3BlbkFJyD9V2W-TW-erAhGP3JgTR8JYPJtIQAV0B_qFohJ2abopok-8yQ7NwHggK6I1Fb3J"}
authentication|code|ANTHROPIC_API_KEY = "sk-ant-api03-Q5ObDQ0Gb7nxFdwUas_XRITiJSkdHBTYsW5Q8F9-68Sf0OmOFiLt4QS328YUWMxdGPRtiNNtW5p3955xQbwzfAgxC-HhUAA"
authentication|code|claude = anthropic.Anthropic(api_key="sk-ant-api03-fCvV-Ub1-5TPqj0ZzlLNoBP16PKVEQdSPJReXZUIzLEBv8UkjAE_PNrilX4LTN5ZjkodKjS4N-Qt3-gn8S1cpFxRsv8-AAA")
authentication|code|session = boto3.Session(aws_access_key_id="AKIA57I4YTOMFFSVYZHU", aws_secret_access_key="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")
authentication|code|s3 = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="AKIANDVP2HFPAS6KMEYY", aws_secret_access_key="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")
authentication|code|os.environ.update(AWS_ACCESS_KEY_ID="AKIABNLOPF6BJMPVG3IH", AWS_SECRET_ACCESS_KEY="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")
authentication|code|creds = Credentials("AKIAPWPZSXRKRZEQKPKY", "dEUZziVl2aY/Hj5+e5HioWw+Ghbhfivru2sEWSuz")
authentication|code|GITHUB_TOKEN = "ghp_I8PfOt9PwuyZXIs6U3So694IPkpI1S7qBWXv"
authentication|code|gh_headers = {"Authorization": "token ghp_xSOZnml8aHe40ic2zBhUppGy2nSHWVoXba1R", "Accept": "application/vnd.github+json"}
authentication|code|SLACK_BOT_TOKEN = "xoxb-6240858980-2387775163980-JvUPr78cHjUOJrJDeww2MoMD"
authentication|code|slack = WebClient(token="xoxb-535111809653-0683404547532-kNorjc2gyui9V2QWuZYyh0Fo")
authentication|code|stripe.api_key = "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"
authentication|code|STRIPE_SECRET_KEY = "sk_live_T1OfYJIrsfNAvrfxaw7X5JrP"
authentication|code|GOOGLE_MAPS_API_KEY = "AIza4Uk1U3clA2pOmwUESetw4I4fM48E9K1qIBo"
authentication|code|geocode_url = "https://maps.googleapis.com/maps/api/geocode/json?key=AIza6VMZAgY9S8l-gQaV6t1JmCgDJ91SP-ry_k-&address="
authentication|code|auth_token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0ODIxMyIsIm5hbWUiOiJNZWdhbiBDYWxsb3dheSIsImVtYWlsIjoibWVnYW4uY2FsbG93YXlAZ21haWwuY29tIiwicm9sZSI6ImFkbWluIiwiaWF0IjoxNzMxNDE4ODIyLCJleHAiOjE3MzE1MDUyMjJ9.sG85GETD8dKUD-R25WpZUsTeiLOc9XmZNb4SO2BD2Js"
authentication|code|request.headers["Authorization"] = "Bearer eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJ1aWQiOjkwODE3LCJ1c2VybmFtZSI6InQub2thZm9yIiwidGVuYW50IjoiYWNtZS1sb2dpc3RpY3MiLCJpYXQiOjE3NDAzOTM2MDAsImV4cCI6MTc0MDQ4MDAwMH0.yOz3rVzs7e56rox_g6L6d3PmbjSG3gK9mCCh_nwTQt3LasE62P3jhM0NWVIQ8RHqFHvMtFetGo5EDpIayZdpcw"
authentication|code|DB_PASSWORD = "Qm7!rTz2#vLp94xe"
authentication|code|engine = create_engine("postgresql://svc_billing:Hx4q9!LmP2zr@db-prod-02.acme-logistics.com:5432/billing")
authentication|code|conn = pymysql.connect(host="10.20.4.17", user="reporting", password="r3port!ng-Oct2024", database="crm")
authentication|code|app.secret_key = "4a2b7d839551fa6eed169f3b9fd8f9f1f99ab7d747175f5b"
authentication|code|app.config["SECRET_KEY"] = "Pf64Ptxxfp2jgOneNYG2IvpJRv8ea0G6RnLJCA2CysY"
authentication|code|server.login("alerts@northwind-traders.com", "Sp4rrow#Harbour19")
authentication|code|resp = requests.get(status_url, auth=("deploy-bot", "W3st!ngate-Relay-07"))
authentication|code|MONGO_URI = "mongodb+srv://admin:Tq8vNw2zKx5R@cluster0.x7ak2.mongodb.net/prod?retryWrites=true"
authentication|code|HF_TOKEN = "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"
authentication|code|TWILIO_AUTH_TOKEN = "157c19671372e2872664b75a66b9bdc6"
authentication|code|SENDGRID_API_KEY = "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"
authentication|code|SLACK_WEBHOOK_URL = "https://hooks.slack.com/services/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"
authentication|code|AZURE_STORAGE_CONNECTION_STRING = "DefaultEndpointsProtocol=https;AccountName=contosobackups;AccountKey=SM8xq8N9gchzEfomohvEu/iwTMEEDVAxTTlmpiO8iBfGIVBFu8YQYMRqOi6ro7EZ9cFEhsFzrduohvWUGYMMWw==;EndpointSuffix=core.windows.net"
authentication|code|cache = redis.Redis(host="cache-7.internal.fernhill.io", port=6379, password="c4che-Fernhill-9921")
authentication|code|DATADOG_API_KEY = "39f3c7483cb93feea33e8af2fda2b84c"
authentication|code|ldap_conn.simple_bind_s("cn=svc-sync,ou=services,dc=halvorsen,dc=no", "Fjord!Sync2023")
authentication|code|admin_user = User(username="root", password="Tr0ub4dor&3-Kelp", is_superuser=True)
authentication|code|VAULT_TOKEN = "hvs.CAESIGq7v1pXw3R0kLmN8yTzB2cD4eF6gH9jK1lM3nP5qR7sT0uVhIKHGh2cy5WbTJ4YkN0UlhLdzlQcVl6cUw2ZVQ"
authentication|prose|The admin password for the staging dashboard is still Harbor!Lantern_58 until we rotate it on Friday.
authentication|prose|I ran the benchmark with my personal key sk-proj-7yzr1WRoRrSKAal4q9YbFeNqi2_fIdvt3kjhVX5gjaD_PuNIT3BlbkFJmHRwz8GquOvb4p1Otqn9bC0OXGkacciw7P3eNji8Jki81yWv, please revoke it once the numbers are in.
authentication|prose|If the nightly build fails, log in as release-bot with password qW7#nZ2!vLp9 and re-run it by hand.
authentication|prose|My GitHub token ghp_dcWGr1BEYgTszTuFMDbxeOamYlf1CDlBVs8C has full repo scope, so only use it for the mirror script.
authentication|prose|Our Stripe live secret is sk_live_asjVkV2XvpeUOsWqs3eLQDaH; never paste it into tickets again.
authentication|prose|The VPN pre-shared key for the Lisbon office is M4r3-Az*l-2291-Tejo.
authentication|prose|Home lab Wi-Fi is the "Kowalski-5G" network, passphrase plum-orbit-7731-quiet.
authentication|prose|Recovery codes for the root AWS account are 4F7K-9QXD, 2M8R-TT6W and H3JN-55PZ; keep them offline.
authentication|prose|The old root keys (AKIAKFHEDH5VMWZ2KBSD / 8HJ90ROUgda4mPN6ZvMhON0FXOazpQAhiLmk8G9l) stay active until the vault migration is done.
authentication|prose|The deploy-notifier app still posts with xoxb-94306572581-7192919160880-oXNzlMEHBsVvUj57VziBs799, rotate it after the offboarding.
authentication|prose|When the LDAP bind prompt appears, use the service account password Zq!8vR#2kLm@ that Tomasz sent on Monday.
authentication|prose|Ana's Okta recovery PIN is 448213, and she asked us to reset her MFA right after using it.
authentication|prose|For the integration tests I hard-coded sk-ant-api03-YLYekREPpbVqQ6nR58VOKJSVeg6pIR3NHfI8svHj8nB_2L5fgSXy_oQbGIpofFvwulw2l0EABNjAIMtgWjrDms3CG1RYEAA, swap in your own key before merging.
authentication|prose|Login for the shared Grafana is ops@kestrel-analytics.com with password Grafana#Kestrel2025.
authentication|prose|The JWT signing secret for the mobile API is bR9#x!Lq2Vz@7mKp, the same on staging and prod for now.
authentication|prose|The partner sandbox accepts the Maps key AIzaQxK1rS1kcRP87mDyapwBOLnKmwBdLMdkOZM until the end of the month.
authentication|prose|Use the temporary GitLab token glpat-S_Dc1Wd9hJceb-zRUecu to clone the infra repo; it expires on the 30th.
authentication|prose|The router admin login at home is admin / Bluebell-Cottage-42, in case the parental controls need changing.
authentication|prose|This bearer token was copied out of Megan's browser session: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0ODIxMyIsIm5hbWUiOiJNZWdhbiBDYWxsb3dheSIsImVtYWlsIjoibWVnYW4uY2FsbG93YXlAZ21haWwuY29tIiwicm9sZSI6ImFkbWluIiwiaWF0IjoxNzMxNDE4ODIyLCJleHAiOjE3MzE1MDUyMjJ9.sG85GETD8dKUD-R25WpZUsTeiLOc9XmZNb4SO2BD2Js
authentication|prose|My laptop disk encryption passphrase is "copper kettle under the stairs 19" if IT ever needs to recover it.
authentication|prose|The npm publish token for the org is npm_d50r5Rt8z45v6FavkqyWQdaEvxtxBY5gMnIo and it bypasses 2FA.
authentication|prose|Docker Hub account jmarsh, access token dckr_pat_IxcPntXWs6zyqwj_AaCFrmNzaOE, is what the release job uses.
authentication|shell|mysql -h db.internal.fernhill.io -u root --password='Kx9!tr#44Lw' billing < nightly_dump.sql
authentication|shell|export OPENAI_API_KEY=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
authentication|shell|curl https://api.anthropic.com/v1/messages -H "x-api-key: sk-ant-api03-uzChFjS7NKC7CQfMbgpIQstVRsIPl3ReW5f38fnpM4XbVldz_LtZY0lzlkF5egY83-_Cd0s_ExKZhBPVnfBczyPPUWLfFAA" -H "anthropic-version: 2023-06-01"
authentication|shell|docker login -u jmarsh -p dckr_pat_WbvaU1Y7mXqox3isfhGfLBaBNSt registry-1.docker.io
authentication|shell|git clone https://oauth2:glpat-FhvQYFt4N1G_M0CBPLFe@gitlab.brightwell-health.com/platform/terraform.git
authentication|shell|psql "postgres://analytics:Wh1tePine-77@10.0.3.41:5432/warehouse" -c "select count(*) from events"
authentication|shell|aws configure set aws_secret_access_key b9ArDw5xUoudbqBRixvr/Mmhr3QZx6Q4/3JldhIu --profile prod-admin
authentication|shell|sshpass -p 'Wint3r!sComing-22' ssh deploy@91.203.147.66
authentication|shell|curl -u admin:Jenk1ns-Orchid-5 -X POST https://ci.kestrel-analytics.com/job/release/build
authentication|shell|export GITHUB_TOKEN=ghp_bVnBoIpC0xm2mYLWsMRwMp3jcC0pB3mzl7AH
authentication|shell|redis-cli -h cache-7.internal.fernhill.io -a 'r3dis-Fernhill-4410' INFO keyspace
authentication|shell|htpasswd -b /etc/nginx/.htpasswd mnovak 'Saffron-Tiger-031'
authentication|shell|AWS_ACCESS_KEY_ID=AKIASU2WJSPMJDNVOJSM AWS_SECRET_ACCESS_KEY=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 aws s3 ls s3://halvorsen-payroll-exports
authentication|env|DB_PASSWORD=L1ghthouse-Keeper-93
authentication|env|AWS_SECRET_ACCESS_KEY=XTmv6j50TgQwHj4T7LNAkv4vfuv/0JNX+pcp36Hi
authentication|env|ANTHROPIC_API_KEY=sk-ant-api03-Gf7_N-1Gz0BPyOrYG4ru3el1QaVmhV4PZf_1Dievg_-pT-psbngqbOTBQS5l3QZGoFTGvTyR6QJSKwdNsrOedn09PND4jAA
authentication|env|STRIPE_SECRET_KEY=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
authentication|env|DATABASE_URL=postgres://app:Gv7kTq2mWx9s@db-primary.northwind-traders.com:5432/app_prod
authentication|env|SLACK_BOT_TOKEN=xoxb-352159524443-6079636882051-LLFoOUO2AnxCMdMEgbcmcccO
authentication|env|HUGGING_FACE_HUB_TOKEN=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
authentication|env|OPENAI_API_KEY=sk-proj-agVeZ2A9waKfIli2eaWAxzGsl4Kk5G2UGadNasWZT3BlbkFJ7eKEwY_7cLQhEx6Mx_uHDnKmHkxTlr0v07N-wSdH
authentication|env|SMTP_PASSWORD=Postbox!Meadow-61
authentication|env|NPM_TOKEN=npm_bhtoZqyNG1B6AXyzeqeUCyybXaQUutAn0oiX
authentication|env|TWILIO_AUTH_TOKEN=08e82c387f849bfff71f5d843cdb6616
authentication|yaml|password: "Gr4nite-Falls-2024!"
authentication|yaml|api_key: sk-proj-P4mHB7RMUe2_OWcJBseOwvz2a1uD7f6JhCIPdxYa47k0VTHymouN9FcxBV4xhn7GR6T3BlbkFJ-gAqSSq13HgEH1sTdxvs3mp2TnisHDFsoi9LU213aw5Av-lItpCN2RdQMOyH7_XkCs
authentication|yaml|slack_token: xoxb-615261789223-4982987299140-B7UBxdr15Ycrpa5yDzsVy1ff
authentication|yaml|credentials: {aws_access_key_id: AKIAQX7NHMCMX6GQPCRT, aws_secret_access_key: 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}
authentication|yaml|github_token: ghp_uknwx8Jsxt8arOZFgUczs04e2gEEgK7wd2Tt
authentication|yaml|smtp_password: 'Kettle&Crumpet-2210'
authentication|json|"client_secret": "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",
authentication|json|{"username": "svc-reporting", "password": "N0rth!Star#771"}
authentication|json|"stripe_key": "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",
authentication|json|"access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImszLTIwMjQtMDkifQ.eyJpc3MiOiJodHRwczovL2F1dGguYnJpZ2h0d2VsbC1oZWFsdGguY29tLyIsInN1YiI6ImF1dGgwfDY2ZjFjMmE5ZTRiMGQ3YTMiLCJhdWQiOiJwYXRpZW50LXBvcnRhbCIsImlhdCI6MTcyNzc4MjUxMCwiZXhwIjoxNzI3Nzg2MTEwLCJzY29wZSI6InJlYWQ6cmVjb3JkcyB3cml0ZTphcHBvaW50bWVudHMifQ.yL17a1UwOckn8z0_cfNdWr6VlN6KHhXDFcidxdLvPVoqrclLT2se05_G-Fnd-XakXfi2D7Gcr5tXDYjY1irA0xsLPYlBNSvQJKYOq4Vjg5SZBIYkt-h5KVCZ0DzNsm3f2SRph9IqlJH9SZatXyadAh6ojUgYp8Qtn8gsiy9PP-d2LzOYqTVas4EDL7daX1C96FmPAhvxZO8pzFz41ag6TgQ93qXD-S_Vcw0k8O3cjzKmwdFzaxxXEWuBSWWRuEdWwChaICSO8PwZ8YjIF1xk6MKG4VNcD-IJ3AzEk7pC8aI584erkJ4qnaV2sAdfCACWJWBEPobT3iefi3hHbNbF9Q",
authentication|json|"github_pat": "ghp_RAfjJmdGqsupcpSWp6xXErnYEVLdlVw0ucsI",
authentication|json|"google_api_key": "AIza431m0fI_zDis2Dsvs3nrVaTKJczTjhDiRtJ",
authentication|json|{"host": "db-replica.kestrel-analytics.com", "user": "grafana_ro", "password": "Moth-Lamp-Quartz-18"}
authentication|ini|aws_secret_access_key = iEVPirKS9nc7l4s0Tf2Ab7NcdESS+iTBO3OAz2Z4
authentication|ini|password = Hx7$kP2m!Qz
authentication|ini|sqlalchemy.url = postgresql://etl:Birch-Canoe-5512@10.0.7.23/etl
authentication|ini|token = ghp_5VEiRy3EzBkriKHwSS88vbWSiZY2MkSeeQuN
authentication|ini|api_key = AIzaFL_ndz8B0_KaGIpVyR9YIzUU9QmJFR-5Qgw
authentication|ini|aws_access_key_id = AKIATEHGMXYMJMMEYUBC
contact|code|ADMIN_EMAIL = "marta.kowalczyk84@gmail.com"
contact|code|customer = {"name": "Priya Raman", "email": "priya.raman91@yahoo.com", "phone": "+1 469-738-2210"}
contact|code|send_sms("+44 7700 912834", "Your replacement card has been dispatched")
contact|code|ship_to = "Helena Brandt, Kastanienallee 41, 10435 Berlin"
contact|code|ONCALL_PHONE = "+1-646-291-7730"  # Tom's personal mobile
contact|code|row = ("Jorge Medina", "jmedina.fam@icloud.com", "(305) 614-2987", "1120 NW 7th St, Miami, FL 33136")
contact|code|mailing_address = "Bridget Foley, 88 Larkspur Lane, Apt 3B, Portland, OR 97214"
contact|code|recipients = ["dgallagher.home@outlook.com", "sinead.gallagher@eircom.net"]
contact|code|contact = Contact(first="Wojciech", last="Zielinski", mobile="+48 601 274 918", email="w.zielinski@wp.pl")
contact|prose|If anything breaks over the weekend, call me on my personal number, +1 415 867 2391 (Daniel).
contact|prose|Please send the signed NDA to my private address fiona.mcallister@proton.me, not the work one.
contact|prose|Customer Amelia Hartwell (amelia.hartwell@gmail.com, +44 7911 204563) reported the export bug on Tuesday.
contact|prose|Ship the replacement unit to Kenji Watanabe, 4-12-7 Jingumae, Shibuya-ku, Tokyo 150-0001.
contact|prose|Our beta tester Luis Ortega lives at 2219 Wrenfield Ct, Plano, TX 75025 and can take the hardware there.
contact|prose|Contact the reporter, Ines Duarte (ines.duarte@sapo.pt, +351 912 448 301), before closing the ticket.
contact|prose|My home landline is 0161 496 0732 if the pager fails overnight.
contact|prose|Olufemi asked to be contacted at olufemi.adeyemi77@gmail.com about the beta invite.
contact|prose|Send the paper invoices to my mum, Margaret O'Brien, 14 Seaview Terrace, Howth, Co. Dublin D13 X2F8.
contact|prose|Her new mobile number is 0176 4829 1175 and she prefers WhatsApp over email.
contact|shell|git config --global user.email "rachel.lindqvist@fastmail.com"
contact|shell|mail -s "weekly report" nikos.papadakis1988@gmail.com < report.txt
contact|env|ALERT_SMS_NUMBER=+13126048817
contact|env|SUPPORT_ESCALATION_EMAIL=beatrice.moreau@orange.fr
contact|yaml|contact_email: theo.vasquez.home@gmail.com
contact|yaml|recipient: "Anders Nilsson <anders.nilsson@telia.com>"
contact|json|"billing_contact": {"name": "Grace Okafor", "phone": "+234 803 417 2290", "email": "grace.okafor@yahoo.com"},
contact|json|"customer": "Mei Chen", "shipping_address": "Apt 12, 301 Queen St W, Toronto, ON M5V 2A4",
contact|ini|owner_phone = +49 151 2387 6604
financial|code|TEST_CARD = "4105 4261 9323 5762"  # Mark's real Visa, remove before committing
financial|code|payment = {"card_number": "5149092421592229", "exp": "04/28", "cvv": "719", "holder": "Nkechi Okonkwo"}
financial|code|iban = "DE11 5001 0517 0940 4722 27"
financial|code|payout = {"iban": "GB45NWBK60161308077432", "bic": "NWBKGB2L", "owner": "Owen Pritchard"}
financial|code|charge(amount=12999, card="3454 279369 08507", exp="11/27", cvc="4821")
financial|code|routing_number, account_number = "021000021", "483920175562"
financial|code|SALARY_EUR = 78500  # Katrin Vogel, senior engineer, from the 2025 review
financial|code|wallet_seed = "orbit maple tunnel violin crisp hazard lumber oyster ribbon candle frost eagle"
financial|code|card = Card(number="6011446659417389", name="DANIEL REYES", expiry="09/29")
financial|code|sepa_mandate = SepaMandate(debtor="Jana Novak", iban="DE52100700009846892029")
financial|prose|Please refund the order to my Visa 4553 3779 8717 9442, exp 09/27, CVC 412. Thanks, Mark.
financial|prose|Alicia Moreno's base salary goes from $142,000 to $151,500 effective March 1.
financial|prose|Wire the deposit to GB82 BARC 2004 1515 7034 27 (account holder Owen Pritchard).
financial|prose|Jonas's credit score dropped to 612 after the identity theft, so his mortgage pre-approval was declined.
financial|prose|Transfer 2,400 EUR to NL60 INGB 0846 3155 98, reference "huur oktober", account holder Sanne de Vries.
financial|prose|My paycheck goes to Chase checking, routing 021000021, account 000347819265.
financial|prose|The corporate Amex 3728 127974 38643 is in Priya's name; expenses over $500 need her approval.
financial|prose|Bonus pool for the team this year: Dana 18%, Kofi 12%, Elise 9% of base salary, keep this between us.
financial|prose|Luca's payslip shows a net monthly pay of €3,412.60 after the garnishment for his outstanding debt.
financial|prose|The customer's card 5344 3417 2266 7377 was declined twice; she says her account is overdrawn.
financial|prose|Pay the contractor Marek Wiśniewski to PL41 2571 1981 3305 9246 8931 9206 by Friday.
financial|prose|Backup card on file for Jana Novak: Mastercard 2221 2253 6019 5814, exp 02/30.
financial|yaml|card_number: "4656 6453 9847 0568"
financial|yaml|iban: IT33X0306901398888135667807  # Giulia Rinaldi, rent
financial|json|"iban": "FR14 3000 4851 0610 8262 6326 874",
financial|json|"cc": "5587 1538 2685 2409", "cvv": "307", "name": "Hiroshi Tanaka",
financial|json|{"customer_id": 55102, "card": "3591 1198 4986 0884", "exp": "07/26"}
financial|env|PAYOUT_IBAN=ES3021006825341323043350
financial|ini|account_number = 7730291846 ; savings account of R. Whitfield, sort code 20-45-77
financial|shell|stripe payment_methods create --type card -d "card[number]=4619071642747964" -d "card[exp_month]=8" -d "card[exp_year]=2028"
identification|code|ssn = "099-79-2419"
identification|code|applicant = {"name": "Dorothy Alvarez", "dob": "1961-03-14", "ssn": "336-42-2671"}
identification|code|passport_no = "548213907"  # US passport, Emily Carter
identification|code|aadhaar = "6304 7480 1206"  # Ravi Shankar, KYC upload
identification|code|user.date_of_birth = date(1992, 8, 17)  # Oliver Grant
identification|code|voter_id = "XKQ4471203"  # Arjun Nair's EPIC card
identification|prose|Employee SSN on file for Rosa Delgado (hired 2019) is 156-61-6880.
identification|prose|Passport number C4XT9R2L7 belongs to Felix Hartmann (Germany) and is valid until 2031.
identification|prose|California driver's license D4827163 for Steven Park, DOB 07/22/1985.
identification|prose|Callum Reid's National Insurance number is JT 48 21 93 B, needed for the payroll form.
identification|prose|Geneviève Tremblay's SIN is 776 154 874, please keep it out of the CRM notes.
identification|prose|The NIR of Camille Durand is 2 87 04 69 123 047 92.
identification|prose|Anita Kapoor's PAN is BQHPK4718M, attach it to the TDS form.
identification|prose|Dorothy Alvarez was born on 14 March 1961 in El Paso, Texas; her mother's maiden name is Ruiz.
identification|prose|Kwame Mensah, born 02/11/1978, passport G2839417 (Ghana), arrives on Monday.
identification|yaml|ssn: "349-23-8389"  # Brian Kessler
identification|yaml|birth_date: 1984-05-30  # Sofia Marchetti
identification|json|"dni": "58552743X", "nombre": "Lucía Fernández García",
identification|env|APPLICANT_SSN=644-94-1230
identification|ini|tax_id = 47 036 892 815 ; Steuer-ID of Lena Hoffmann
identification|shell|ssn-verify --name "Brian Kessler" --ssn 008-73-7196
health|code|note = "Pt. Lucia Ferreira, 34F, HIV+ on Biktarvy, CD4 612, follow up in 3 months"
health|code|record = Patient(name="Walter Brooks", icd10="F32.1", medication="bupropion 150 mg")
health|prose|Patient Harold Jennings (MRN 00482917) presented with chest pain; troponin elevated, started on heparin.
health|prose|I'm out next week for my second chemo cycle, please don't mention it to the team. Rob
health|prose|Greg's therapist, Dr. Ann Kwan, recommends he stays off the on-call rota until his depression treatment stabilises.
health|prose|Mei Lin Zhou (DOB 1990-11-23): blood type O-negative, severe penicillin allergy, epilepsy on levetiracetam.
health|prose|Sick note for Fatima Benali: migraine with aura, off work 12 to 16 May, signed by her GP Dr. Hughes.
health|prose|Nora Lindgren tested positive on a PCR test on 2024-01-09 and is isolating at home.
health|prose|Ward 4B, bed 12: Mr. Dennis Yeo, 67, post-op day 2 after hip replacement, on morphine PCA.
health|yaml|diagnosis: "Type 1 diabetes, insulin pump, HbA1c 8.1%"  # patient Noah Fischer
health|json|{"patient": "Eli Shapiro", "dob": "1979-06-02", "rx": "sertraline 100 mg daily", "dx": "major depressive disorder"}
health|env|PATIENT_NOTE="Anna Kowal, 41, BRCA1 positive, prophylactic mastectomy scheduled 2025-02-03"
location_network|code|HOME_COORDS = (47.61427, -122.31946)  # Jess's house, used for the geofence test
location_network|code|known_devices["3f:fe:c1:a1:4d:76"] = "Hannah's iPhone (home network)"
location_network|code|geofence.add(name="Priya home", lat=12.97194, lon=77.64115, radius_m=150)
location_network|prose|Dave's home router is at 73.162.44.19 and his NAS has the MAC address 3C:22:FB:91:0E:7A.
location_network|prose|My apartment is at 40.72714, -73.95112, so drop the test device with the doorman.
location_network|prose|The abuse report traces back to 2a02:c7f:a81e:4200:8d1:5e3f:21b:9c44, which is Peter Hollis's home line.
location_network|prose|Sam's phone pinged at 51.52036, -0.09912 at 23:14, two streets from his flat.
location_network|env|HOME_IP=86.142.77.203  # Lucy's BT broadband, on the admin allowlist
location_network|yaml|- {owner: "Marco Bellini", device: "Pixel 8", mac: "26:48:82:E7:44:D8", ip: "192.168.1.44"}
location_network|ini|allowed_ip = 24.5.131.88 ; Kevin Brandt's home connection
location_network|json|"last_location": {"user": "claire.dubois", "lat": 48.86921, "lon": 2.37912, "ts": "2024-06-03T22:41:07Z"},
location_network|shell|ssh pi@81.107.203.56  # Gareth's Raspberry Pi at home
account_profile|code|profile = {"user_id": 88412093, "username": "nightowl_jenna", "age": 29, "gender": "F", "city": "Leeds"}
account_profile|code|user = User(id=4471, email="k.obrien@gmail.com", display_name="Kieran O'Brien", birthday="1995-09-12")
account_profile|prose|Account 7731-0942 belongs to Sam Whitaker (login swhitaker88); he asked for deletion under GDPR.
account_profile|prose|Lena Hoffmann's Instagram is @lena.moves.abroad and her recovery email is lena.hoffmann@web.de.
account_profile|prose|The last login for member #20931 (Halima Yusuf) was from Lagos on an Android 14 phone.
account_profile|yaml|username: bkarlsson_1987  # Björn Karlsson's personal Steam account
account_profile|json|"customer_id": "cus_Q4x8LmN2vT7kRz", "name": "Tobias Engel", "plan": "premium", "signup_ip": "88.217.40.19",
device_incident|code|DEVICE_OWNER = {"serial": "C02ZK4LHMD6T", "owner": "Rebecca Stone", "asset_tag": "IT-04417"}
device_incident|code|device_registry["354047700456828"] = "Oskar Lindholm, company phone, reported stolen 2024-09-14"
device_incident|prose|ThinkPad SN PF3K9X2B assigned to Mohammed Al-Sayed was stolen from his car on 3 June, police ref 2406-11873.
device_incident|prose|Incident 4471: Julia Marsh's phone (IMEI 354803808197403) was lost at the airport and a remote wipe is pending.
device_incident|prose|The crash dump from Wen Li's MacBook (serial FVFXC2K3Q6L4) contains her keychain export, quarantine it.
device_incident|ini|serial = R58N90ABC1X ; Galaxy Tab issued to Tomás Ruiz
media_content|code|voice_memo = "recordings/2024-05-02_call_with_divorce_lawyer_marcus_lee.m4a"
media_content|prose|Attached are the photos from Chloe's ultrasound appointment (IMG_4412.HEIC); please keep them private.
media_content|prose|Voicemail transcript from Mrs. Patel: "I can't make rent this month, please don't tell my son."
media_content|prose|DM from @jordan_k: "I'm being evicted on the 15th and haven't told anyone yet."
media_content|yaml|source: s3://ortega-family-private/photos/2023/passport_scans/luis_ortega_passport.jpg
ancillary|code|employee.notes = "union member, voted against the merger; DUI conviction (2016) disclosed in background check"
ancillary|prose|For the offsite seating plan: Yusuf is fasting for Ramadan and Rachel keeps kosher.
ancillary|prose|Mateo came out to me last week but isn't out at work, so keep this off the ticket.
ancillary|prose|The background check for Karen Doyle shows a 2015 shoplifting conviction, expunged in 2020.
ancillary|prose|Candidate Li Wei listed his political affiliation as "Green Party member" and his religion as Buddhist on the form.
ancillary|prose|Jamal Thompson is a registered member of the Socialist Workers Party and goes to the Friday protests.
ancillary|json|"name": "Dragan Petrović", "ethnicity": "Roma", "religion": "Catholic",
"""

# PEM private keys (multi-line; one inserted item each): (variable name, block)
PEM_ITEMS = [
    ("SIGNING_KEY", """-----BEGIN EC PRIVATE KEY-----
MHcCAQEEILrpaNuhl/5Parvju7gXv2qFtuw0Ko0ChIpt3DehsJgloAoGCCqGSM49
AwEHoUQDQgAE71OxOXzowwgog2qo5Uz1h2KPnnh4LMd5v180/1pK2VaPTrALVtDj
o3vrTTPYB2rcgn3faQzMfo6cI2p1zrjiBQ==
-----END EC PRIVATE KEY-----"""),
    ("JWT_PRIVATE_KEY", """-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIBBq+UGVORNO5j+kuyj2Y1VgFdltEAe7XH07cTRAIV/goAoGCCqGSM49
AwEHoUQDQgAE4otIwZNavZ3y1Phw9laHNHw92hN7Z0PIj8E27ZIxrXGBPlnUsDNx
dtp58N3hRd4+4x3PGcMoW3A/8iT9f0PDvQ==
-----END EC PRIVATE KEY-----"""),
    ("ED25519_KEY", """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIPPPQaRz9suFfhSh2sCsrQWSdkMKVn0c7qwpzdTO8CYV
-----END PRIVATE KEY-----"""),
    ("WEBHOOK_SIGNING_KEY", """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIIFM7GDw7qmwuw5PpRi6QyjoAP1Knw2kGwA4RpgjkmDe
-----END PRIVATE KEY-----"""),
    ("DEPLOY_KEY", """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBBHVEzo+eoDL9aYDbYnoTjJUOlwtspOuvcr/fbKVTtyQAAAJjuxp8M7saf
DAAAAAtzc2gtZWQyNTUxOQAAACBBHVEzo+eoDL9aYDbYnoTjJUOlwtspOuvcr/fbKVTtyQ
AAAEDVRNxmyWtjc4pcVGL2KQ9MlznPKshktmeSUxawv2oCnEEdUTOj56gMv1pgNtiehOMl
Q6XC2yk669yv99spVO3JAAAAFG5hZGlhQG5hZGlhLXRoaW5rcGFkAQ==
-----END OPENSSH PRIVATE KEY-----"""),
    ("SSH_PRIVATE_KEY", """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBPsqLRemvrzQup/L5EuCrMApFJIjSDwt865F+29XaCqAAAAKBLtm39S7Zt
/QAAAAtzc2gtZWQyNTUxOQAAACBPsqLRemvrzQup/L5EuCrMApFJIjSDwt865F+29XaCqA
AAAEDFLpPHs+0tuOjQa+U+Rp68l4I8dxzFAiBsThaby/0wpU+yotF6a+vNC6n8vkS4KswC
kUkiNIPC3zrkX7b1doKoAAAAFmRlcGxveUBidWlsZC1ydW5uZXItMDMBAgMEBQYH
-----END OPENSSH PRIVATE KEY-----"""),
]

# Numbers in the pool that must pass their checksums (validated at build time).
LUHN_NUMBERS = [  # payment cards and IMEIs, Canadian SIN
    "4105426193235762", "4553377987179442", "4656645398470568", "4619071642747964",
    "5149092421592229", "5344341722667377", "5587153826852409", "2221225360195814",
    "345427936908507", "372812797438643", "6011446659417389", "3591119849860884",
    "354803808197403", "354047700456828", "776154874",
]
IBANS = [
    "DE11500105170940472227", "DE52100700009846892029", "GB45NWBK60161308077432",
    "GB82BARC20041515703427", "FR1430004851061082626326874", "NL60INGB0846315598",
    "ES3021006825341323043350", "IT33X0306901398888135667807",
    "PL41257119813305924689319206",
]


# ---------------------------------------------------------------------------
# Pool
# ---------------------------------------------------------------------------
def load_pool():
    pool = []
    for raw in POOL_TEXT.strip("\n").split("\n"):
        if not raw.strip():
            continue
        cat, form, text = raw.split("|", 2)
        pool.append({"category": cat, "form": form, "text": text, "uses": 0})
    for var, block in PEM_ITEMS:
        pool.append({"category": "authentication", "form": "pem", "text": block,
                     "var": var, "uses": 0})
    return pool


def luhn_ok(number):
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(iban):
    s = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


def check_pool(pool):
    cats = {c for c, _ in CATEGORY_QUOTA}
    texts = [p["text"] for p in pool]
    assert len(set(texts)) == len(texts), "duplicate pool lines"
    assert len(pool) >= 150, len(pool)
    for p in pool:
        assert p["category"] in cats, p
        assert p["form"] in FORMS, p
        assert '"""' not in p["text"] and "\\" not in p["text"], p
    digits_only = [re.sub(r"\D", "", t) for t in texts]
    compact = [re.sub(r"\s", "", t) for t in texts]
    for n in LUHN_NUMBERS:
        assert luhn_ok(n), n
        assert any(n in d for d in digits_only), n
    for ib in IBANS:
        assert iban_ok(ib), ib
        assert any(ib in c for c in compact), ib
    for c, q in CATEGORY_QUOTA:
        n = sum(1 for p in pool if p["category"] == c)
        assert n * MAX_USES >= q, (c, n, q)


FORMS = ("code", "prose", "shell", "env", "yaml", "json", "ini", "pem")


# ---------------------------------------------------------------------------
# Reading sources
# ---------------------------------------------------------------------------
def find_dist_info(site, dist):
    norm = dist.lower().replace("-", "_")
    hits = sorted(p for p in site.glob("*.dist-info")
                  if p.name[: -len(".dist-info")].lower().rsplit("-", 1)[0].replace("-", "_") == norm)
    if len(hits) != 1:
        sys.exit(f"expected exactly one dist-info for {dist}, found {hits}")
    return hits[0]


def read_metadata(path):
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.partition("\n\n")
    headers = {}
    for line in head.split("\n"):
        if ":" in line and not line.startswith((" ", "\t")):
            k, v = line.split(":", 1)
            headers.setdefault(k.strip(), v.strip())
    body_first_line = head.count("\n") + 3   # 1-based file line of body line 0
    return headers, body, body_first_line


def mostly_data(lines):
    ne = [l for l in lines if l.strip()]
    if not ne:
        return True
    lit = sum(1 for l in ne
              if re.match(r"""^\s*(["'\d\-(\[{]|b["'])""", l)
              or re.match(r"^\s*[\]\)\}],?\s*$", l))
    return lit / len(ne) > DATA_TABLE_SHARE


def collect_sources(site):
    """Return (code_files, doc_files, versions, skipped)."""
    code, docs, versions, skipped = [], [], {}, []
    for dist, roots in PROJECTS:
        di = find_dist_info(site, dist)
        headers, body, first = read_metadata(di / "METADATA")
        versions[dist] = headers.get("Version", "?")
        ctype = headers.get("Description-Content-Type", "")
        fmt = "md" if "markdown" in ctype else "rst"
        docs.append({"rel": f"{di.name}/METADATA", "lines": body.split("\n"),
                     "line0": first, "fmt": fmt, "project": dist})
        for root in roots:
            base = site / root
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames.sort()
                rel_dir = Path(dirpath).relative_to(site).as_posix()
                if any(rel_dir == d or rel_dir.startswith(d + "/") for d in EXCLUDE_DIRS):
                    dirnames[:] = []
                    continue
                for fn in sorted(filenames):
                    if not fn.endswith(".py"):
                        continue
                    rel = f"{rel_dir}/{fn}"
                    raw = (site / rel).read_bytes()
                    if b"\x00" in raw:
                        skipped.append((rel, "binary"))
                        continue
                    try:
                        text = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        skipped.append((rel, "not utf-8"))
                        continue
                    text = text.replace("\r\n", "\n").replace("\r", "\n")
                    lines = text.split("\n")
                    if len(text) < MIN_LEN:
                        continue
                    if mostly_data(lines):
                        skipped.append((rel, "mostly data tables / literals"))
                        continue
                    code.append({"rel": rel, "lines": lines, "line0": 1,
                                 "project": dist, "text": text})
        for rel in EXTRA_DOCS:
            if rel.split("/")[0] in roots and (site / rel).exists():
                text = (site / rel).read_text(encoding="utf-8")
                docs.append({"rel": rel, "lines": text.split("\n"), "line0": 1,
                             "fmt": "rst", "project": dist})
    return code, docs, versions, skipped


# ---------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------
def prefix_sums(lines):
    ps = [0]
    for l in lines:
        ps.append(ps[-1] + len(l))
    return ps


def span_len(ps, i, j):
    """Length of '\n'.join(lines[i:j])."""
    return ps[j] - ps[i] + (j - i - 1)


def window_end(src, i, target):
    """Smallest j with length >= target (backing off one line if > MAX_LEN)."""
    lines, ps = src["lines"], src["ps"]
    if not lines[i].strip():
        return None
    j = i + 1
    n = len(lines)
    while j <= n and span_len(ps, i, j) < target:
        j += 1
    if j > n:
        return None
    if span_len(ps, i, j) > MAX_LEN:
        j -= 1
    while j > i + 1 and not lines[j - 1].strip():   # do not end on blank lines
        j -= 1
    if MIN_LEN <= span_len(ps, i, j) <= MAX_LEN:
        return j
    return None


def draw_window(rng, src, i):
    j = window_end(src, i, rng.randint(TARGET_LO, TARGET_HI))
    if j is None:
        j = window_end(src, i, 1500)
    return j


def valid_starts(src):
    return [i for i in range(len(src["lines"])) if window_end(src, i, 1500) is not None]


def pick_code_windows(rng, code, n):
    for src in code:
        src["starts"] = valid_starts(src)
    files = [s for s in code if s["starts"]]
    used = defaultdict(list)
    picked = []
    weights = {s["rel"]: math.sqrt(len(s["text"])) for s in files}
    alive = list(files)
    while len(picked) < n:
        if not alive:
            sys.exit("ran out of code windows")
        src = rng.choices(alive, weights=[weights[s["rel"]] for s in alive])[0]
        ok = False
        for _ in range(40):
            i = rng.choice(src["starts"])
            j = draw_window(rng, src, i)
            if j is None:
                continue
            if any(i < b and a < j for a, b in used[src["rel"]]):
                continue
            used[src["rel"]].append((i, j))
            picked.append((src, i, j))
            ok = True
            break
        if not ok or len(used[src["rel"]]) >= PER_FILE_CAP:
            alive.remove(src)
    return picked


def pick_doc_windows(rng, docs, n):
    for src in docs:
        src["starts"] = valid_starts(src)
    usable = [s for s in docs if s["starts"]]
    total = sum(len(s["starts"]) for s in usable)
    # proportional quotas (largest remainder), at least one per source
    raw = [n * len(s["starts"]) / total for s in usable]
    quota = [max(1, int(r)) for r in raw]
    order = sorted(range(len(usable)), key=lambda k: raw[k] - int(raw[k]), reverse=True)
    k = 0
    while sum(quota) < n:
        quota[order[k % len(order)]] += 1
        k += 1
    while sum(quota) > n:
        big = max(range(len(usable)), key=lambda q: quota[q])
        quota[big] -= 1
    picked = []
    for src, q in zip(usable, quota):
        starts = src["starts"]
        q = min(q, len(starts))
        # stratified: one start from each of q equal strata, spreads the windows
        for s in range(q):
            lo = s * len(starts) // q
            hi = max(lo + 1, (s + 1) * len(starts) // q)
            i = starts[rng.randrange(lo, hi)]
            j = draw_window(rng, src, i)
            picked.append((src, i, j))
    if len(picked) != n:
        sys.exit(f"doc windows: wanted {n}, got {len(picked)}")
    return picked


# ---------------------------------------------------------------------------
# Insertion contexts
# ---------------------------------------------------------------------------
def indent_of(line):
    return line[: len(line) - len(line.lstrip())]


def prev_nonblank(lines, k):
    p = k - 1
    while p >= 0 and not lines[p].strip():
        p -= 1
    return p


def next_nonblank(lines, k):
    q = k
    while q < len(lines) and not lines[q].strip():
        q += 1
    return q


def sentence_break(lines, k, comment=False):
    """False when line k-1 -> k looks like the middle of a wrapped sentence."""
    prev, nxt = lines[k - 1].strip(), lines[k].strip()
    if comment:
        prev, nxt = prev.lstrip("#").strip(), nxt.lstrip("#").strip()
    if not prev or not nxt:
        return True
    if prev.endswith((".", ":", "!", "?", "::")):
        return True
    if comment:
        return bool(BULLET.match(nxt))
    return bool(BULLET.match(lines[k]) or nxt.startswith(("#", "..", ">>>", "-", "*"))
                or FIELD.match(nxt))


def python_contexts(src):
    """ctx[k] describes the boundary just before 0-based line k."""
    lines = src["lines"]
    n = len(lines)
    ctx = [None] * (n + 1)
    in_string, stmt_after, paren_after, opener = set(), set(), set(), set()
    depth = 0
    last_sig = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src["text"]).readline):
            tt, ts, (sr, _), (er, _), _ = tok
            if tt == tokenize.OP and ts in "([{":
                depth += 1
            elif tt == tokenize.OP and ts in ")]}":
                depth = max(0, depth - 1)
            if tt == tokenize.STRING and er > sr:
                in_string.update(range(sr, er))          # 0-based lines sr..er-1
            if tt in (tokenize.NEWLINE, tokenize.NL):
                (stmt_after if depth == 0 else paren_after).add(sr)   # boundary before 0-based line sr
                if tt == tokenize.NEWLINE and last_sig == ":":
                    opener.add(sr - 1)
            if tt not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE,
                          tokenize.INDENT, tokenize.DEDENT):
                last_sig = ts
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return ctx
    for k in range(1, n):
        p, q = prev_nonblank(lines, k), next_nonblank(lines, k)
        if k in in_string:
            if not sentence_break(lines, k):
                continue
            ref = q if q in in_string else p
            ctx[k] = ("py_string", indent_of(lines[ref]) if ref >= 0 else "")
        elif k in stmt_after:
            if p < 0 or q >= n:
                continue
            pi, qi = indent_of(lines[p]), indent_of(lines[q])
            nxt = lines[q].lstrip()
            allow_code = not lines[p].lstrip().startswith("@") and not lines[q].startswith("from __future__")
            p_com, q_com = lines[p].lstrip().startswith("#"), lines[q].lstrip().startswith("#")
            if p_com and q_com:           # inside a comment block: comment, not code
                allow_code = False
                if not sentence_break(lines, k, comment=True):
                    continue
            if p in opener and re.match(r"[rRbBuU]?(\"\"\"|\'\'\')", lines[q].lstrip()):
                allow_code = False        # keep the docstring a docstring
            if p in opener:
                ind = qi if len(qi) > len(pi) else pi + "    "
            elif re.match(r"(else|elif|except|finally)\b", nxt) and not nxt.startswith("#"):
                ind = pi
            else:
                ind = qi
            ctx[k] = ("py_stmt", ind, allow_code)
        elif k in paren_after:
            if q < n:
                ctx[k] = ("py_paren", indent_of(lines[q]))
    return ctx


FIELD = re.compile(r"^:(param|type|return|returns|rtype|raise|raises|ivar|var|cvar|arg|keyword|kwarg)\b")
BULLET = re.compile(r"^(\s*)([-*+]|\d+\.)\s+")
UNDERLINE = re.compile(r"^\s*([=\-~^\"'`#*+])\1{2,}\s*$")
PY_LANGS = {"python", "py", "python3", "pycon", "py3", "ipython"}
SH_LANGS = {"sh", "bash", "shell", "console", "zsh", "shell-session", "bash-session"}
INI_LANGS = {"ini", "toml", "cfg", "conf", "dosini"}


def block_ctx(lines, p, q, lang):
    # a line put before line q normally takes q's indentation; before a closing
    # fence or an else/except-style line it takes the previous line's
    nq = lines[q].strip()
    if nq.startswith(("```", "~~~", ")", "]", "}")) or re.match(r"(else|elif|except|finally)\b", nq):
        ind = indent_of(lines[p])
    else:
        ind = indent_of(lines[q])
    near = [lines[x].strip() for x in (p, q)]
    prompt = ""
    if any(s.startswith(">>> ") for s in near):
        prompt = ">>> "
    elif any(s.startswith("$ ") for s in near):
        prompt = "$ "
    if lines[q].strip().startswith("..."):
        return None
    if prompt and not nq.startswith((prompt.strip(), "```", "~~~")):
        return None       # would split a prompt line from its output
    if lang in PY_LANGS and (lines[p].rstrip().endswith((",", "(", "[", "{", "\\"))
                             or nq.startswith((")", "]", "}"))):
        return None       # inside a bracketed expression of a Python example
    return ("block", lang, ind, prompt)


def prose_ctx(lines, p, q, k):
    n = len(lines)
    if not sentence_break(lines, k):
        return None
    if UNDERLINE.match(lines[k]) or (k + 1 < n and lines[k].strip() and UNDERLINE.match(lines[k + 1])):
        return None
    for x in (p, q):
        s = lines[x].lstrip()
        if s.startswith(("|", "+-", "+=", "<", "[![", "![")):
            return None
    bullet = ""
    m = BULLET.match(lines[p])
    if m and (not lines[k].strip() or BULLET.match(lines[k])):
        b = m.group(2)
        bullet = m.group(1) + ("-" if b[0].isdigit() else b) + " "
        return ("doc_prose", "", bullet)
    ind = indent_of(lines[q]) if (indent_of(lines[p]) and indent_of(lines[q])) else ""
    return ("doc_prose", ind, "")


def markdown_contexts(src):
    lines = src["lines"]
    n = len(lines)
    ctx = [None] * (n + 1)
    state = []
    fence, lang, html_comment = False, "", False
    for l in lines:
        state.append((fence, lang, html_comment))
        s = l.strip()
        if s.startswith(("```", "~~~")):
            if fence:
                fence = False
            else:
                fence, lang = True, s[3:].strip().lower()
        elif not fence:
            if "<!--" in s and "-->" not in s.split("<!--", 1)[1]:
                html_comment = True
            elif html_comment and "-->" in s:
                html_comment = False
    for k in range(1, n):
        p, q = prev_nonblank(lines, k), next_nonblank(lines, k)
        if p < 0 or q >= n:
            continue
        f, lg, hc = state[k]
        if hc or state[q][2] or state[p][2]:
            continue
        if f:
            if state[q][0] and state[p][0] or (f and lines[q].strip().startswith(("```", "~~~"))):
                ctx[k] = block_ctx(lines, p, q, lg)
            continue
        if state[q][0] and not lines[q].strip().startswith(("```", "~~~")):
            continue
        ctx[k] = prose_ctx(lines, p, q, k)
    return ctx


def rst_contexts(src):
    lines = src["lines"]
    n = len(lines)
    ctx = [None] * (n + 1)
    region = ["text"] * n
    rlang = [""] * n
    idx = 0
    while idx < n:
        s = lines[idx].strip()
        m = re.match(r"\.\.\s+(code-block|code|sourcecode)::\s*(\S*)", s)
        if m or s.startswith(".. ") or (s.endswith("::") and s):
            kind = "code" if (m or not s.startswith(".. ")) else "directive"
            lang = m.group(2).lower() if m else ""
            base = len(indent_of(lines[idx]))
            j = idx + 1
            while j < n and (not lines[j].strip() or len(indent_of(lines[j])) > base):
                if lines[j].strip():
                    region[j], rlang[j] = kind, lang
                    if kind == "code" and lines[j].strip().startswith(":") and m:
                        region[j] = "directive"   # :linenos: style options
                j += 1
            idx = j
            continue
        idx += 1
    for k in range(1, n):
        p, q = prev_nonblank(lines, k), next_nonblank(lines, k)
        if p < 0 or q >= n:
            continue
        rp, rq = region[p], region[q]
        if rp == "code" and rq == "code":
            ctx[k] = block_ctx(lines, p, q, rlang[q])
        elif rq != "text":
            continue
        elif lines[k].lstrip().startswith(".. "):
            continue          # explicit markup must follow a blank line
        elif rp != "text" and k == p + 1:
            continue          # straight after a directive / literal block: needs a blank line
        elif lines[p].strip().startswith(".. ") and q == p + 1:
            continue
        else:
            ctx[k] = prose_ctx(lines, p, q, k)
    return ctx


def form_weights(ctx):
    kind = ctx[0]
    if kind == "py_stmt":
        if ctx[2]:
            return {"code": 6, "pem": 0.6, "prose": 3, "env": 0.4, "shell": 0.4}
        return {"prose": 3, "env": 0.4, "shell": 0.4}
    if kind == "py_paren":
        return {"prose": 3, "code": 1, "env": 0.4, "shell": 0.4}
    if kind == "py_string":
        return {"prose": 6, "code": 1.5, "shell": 1, "env": 1, "yaml": 1,
                "ini": 0.7, "json": 0.7, "pem": 0.5}
    if kind == "doc_prose":
        return {"prose": 1}
    if kind == "block":
        lang, prompt = ctx[1], ctx[3]
        if lang in PY_LANGS:
            return {"code": 1} if prompt else {"code": 1, "pem": 0.2}
        if lang in SH_LANGS or prompt == "$ ":
            return {"shell": 3, "env": 2}
        if lang in INI_LANGS:
            return {"ini": 3, "env": 1}
        if lang in ("yaml", "yml"):
            return {"yaml": 1}
        if lang == "json":
            return {"json": 1}
        return {"shell": 1, "env": 1, "yaml": 1, "ini": 1, "json": 1, "pem": 0.4}
    raise ValueError(ctx)


def render(item, ctx):
    form, text = item["form"], item["text"]
    kind = ctx[0]
    if kind in ("py_stmt", "py_paren"):
        ind = ctx[1]
        if kind == "py_stmt" and form == "code":
            return ind + text
        if form == "pem":
            return f'{ind}{item["var"]} = """{text}"""'
        return ind + "# " + text
    if kind == "py_string":
        return "\n".join(ctx[1] + t for t in text.split("\n"))
    if kind == "doc_prose":
        return ctx[1] + ctx[2] + text
    if kind == "block":
        ind, prompt = ctx[2], ctx[3]
        if form == "pem" and ctx[1] in PY_LANGS:
            return f'{ind}{item["var"]} = """{text}"""'
        if form == "pem":
            return "\n".join(ind + t for t in text.split("\n"))
        if form == "env" and prompt == "$ ":
            return f"{ind}$ export {text}"
        if form in ("shell", "code"):
            return ind + prompt + text
        return ind + text
    raise ValueError(ctx)


def insert_one(rng, src, i, j, category, pool_by):
    lines, ps = src["lines"], src["ps"]
    ctxs = src["ctx"]
    bounds = [k for k in range(i + 1, j) if ctxs[k] is not None]
    rng.shuffle(bounds)
    for k in bounds:
        ctx = ctxs[k]
        weights = {f: w for f, w in form_weights(ctx).items()
                   if any(p["uses"] < MAX_USES for p in pool_by[(category, f)])}
        if not weights:
            continue
        forms = sorted(weights)
        form = rng.choices(forms, weights=[weights[f] for f in forms])[0]
        cands = [p for p in pool_by[(category, form)] if p["uses"] < MAX_USES]
        least = min(p["uses"] for p in cands)
        item = rng.choice([p for p in cands if p["uses"] == least])
        ins = render(item, ctx)
        if "text" in src:   # Python source: the file must still compile with the insertion
            try:
                compile("\n".join(lines[:k] + [ins] + lines[k:]), src["rel"], "exec")
            except SyntaxError:
                continue
        item["uses"] += 1
        # shrink the tail so the total length follows the clean target distribution
        target = rng.randint(TARGET_LO, TARGET_HI)
        jj = j
        while (jj - 1 > k and lines[jj - 2].strip()
               and span_len(ps, i, jj - 1) >= MIN_LEN
               and span_len(ps, i, jj) + len(ins) + 1 > target):
            jj -= 1
        text = "\n".join(lines[i:k] + [ins] + lines[k:jj])
        return {"text": text, "item": item, "ins": ins, "ctx": ctx[0], "k": k, "j": jj}
    return None


# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------
def source_label(src, i):
    return f'{src["rel"]}:{src["line0"] + i}'


def build(site):
    rng = random.Random(SEED)
    pool = load_pool()
    check_pool(pool)
    pool_by = defaultdict(list)
    for p in pool:
        pool_by[(p["category"], p["form"])].append(p)

    code, docs, versions, skipped = collect_sources(site)
    for src in code + docs:
        src["ps"] = prefix_sums(src["lines"])
    for src in code:
        src["ctx"] = python_contexts(src)
    for src in docs:
        src["ctx"] = markdown_contexts(src) if src["fmt"] == "md" else rst_contexts(src)

    n_doc_clean = round(N_CLEAN * DOC_SHARE)
    n_doc_ins = round(N_INSERTED * DOC_SHARE)
    n_code_clean, n_code_ins = N_CLEAN - n_doc_clean, N_INSERTED - n_doc_ins

    def usable(w):
        src, i, j = w
        return sum(1 for k in range(i + 1, j) if src["ctx"][k] is not None) >= 3

    # A window with (almost) no usable insertion spot (e.g. all table rows) can
    # only be a clean one; otherwise the clean/inserted split is random.
    code_w = pick_code_windows(rng, code, n_code_clean + n_code_ins)
    rng.shuffle(code_w)
    code_w.sort(key=usable)                      # stable: unusable ones first
    n_bad = sum(1 for w in code_w if not usable(w))
    assert n_bad <= n_code_clean
    head, tail = code_w[:n_bad], code_w[n_bad:]
    code_clean = head + tail[: n_code_clean - n_bad]
    code_ins = tail[n_code_clean - n_bad:]

    doc_w = pick_doc_windows(rng, docs, n_doc_clean + n_doc_ins)
    doc_w.sort(key=lambda w: (w[0]["rel"], w[1]))
    # inserted doc windows: evenly spaced along the usable windows of all docs,
    # so clean and inserted chunks alternate along each document
    good = [w for w in doc_w if usable(w)]
    assert len(good) >= n_doc_ins
    off = rng.random()
    pick = {int((t + off) * len(good) / n_doc_ins) for t in range(n_doc_ins)}
    doc_ins = [w for x, w in enumerate(good) if x in pick]
    ins_ids = {id(w) for w in doc_ins}
    doc_clean = [w for w in doc_w if id(w) not in ins_ids]
    assert len(doc_clean) == n_doc_clean and len(doc_ins) == n_doc_ins
    assert all(usable(w) for w in code_ins + doc_ins)

    rows = []
    for src, i, j in code_clean + doc_clean:
        text = "\n".join(src["lines"][i:j])
        rows.append({"text": text, "sensitive": False, "category": "none",
                     "kind": "long_clean", "source": source_label(src, i)})

    cats = [c for c, q in CATEGORY_QUOTA for _ in range(q)]
    rng.shuffle(cats)
    pending = code_ins + doc_ins
    rng.shuffle(pending)
    stats = Counter()
    for cat in cats:
        for x, (src, i, j) in enumerate(pending):
            res = insert_one(rng, src, i, j, cat, pool_by)
            if res is not None:
                pending.pop(x)
                break
        else:
            sys.exit(f"no window accepts a {cat} item")
        rows.append({"text": res["text"], "sensitive": True, "category": cat,
                     "kind": "long_inserted", "source": source_label(src, i),
                     "inserted": res["ins"].strip()})
        kind = "doc" if src in docs else "code"
        stats[(kind, res["ctx"], res["item"]["form"])] += 1
        stats[("project", src["project"], kind)] += 1
    for src, i, j in code_clean + doc_clean:
        stats[("project", src["project"], "doc" if src in docs else "code")] += 1
    rng.shuffle(rows)
    return rows, pool, versions, skipped, stats, code, docs


def validate(rows, pool):
    assert len(rows) == N_CLEAN + N_INSERTED
    kinds = Counter(r["kind"] for r in rows)
    assert kinds == {"long_clean": N_CLEAN, "long_inserted": N_INSERTED}, kinds
    cats = Counter(r["category"] for r in rows if r["sensitive"])
    assert cats == dict(CATEGORY_QUOTA), cats
    assert len({r["text"] for r in rows}) == len(rows), "duplicate chunk text"
    for r in rows:
        if r["sensitive"]:
            assert r["kind"] == "long_inserted" and r["category"] != "none"
            assert r["text"].count(r["inserted"]) == 1, r["source"]
            t, ins = r["text"], r["inserted"]
            pos = t.index(ins)
            line_start = t.rfind("\n", 0, pos) + 1
            assert t[line_start:pos].strip() == "", r["source"]
            end = pos + len(ins)
            assert line_start > 0 and end < len(t) and t[end] == "\n", r["source"]  # interior boundary
            base_len = len(t) - (end - line_start) - 1
            assert MIN_LEN <= base_len <= MAX_LEN, (r["source"], base_len)
        else:
            assert r["category"] == "none" and "inserted" not in r
            assert MIN_LEN <= len(r["text"]) <= MAX_LEN, (r["source"], len(r["text"]))
    uses = Counter(p["uses"] for p in pool)
    assert max(p["uses"] for p in pool) <= MAX_USES
    return kinds, cats, uses


def write_readme(rows, pool, versions, skipped, stats, code, docs, site):
    cats = Counter(r["category"] for r in rows if r["sensitive"])
    lens_c = sorted(len(r["text"]) for r in rows if not r["sensitive"])
    lens_i = sorted(len(r["text"]) for r in rows if r["sensitive"])
    srcs = Counter(r["source"].rsplit(":", 1)[0] for r in rows)
    used_items = sum(1 for p in pool if p["uses"])
    uses = Counter(p["uses"] for p in pool)
    doc_chars = sum(len("\n".join(d["lines"])) for d in docs)
    L = []
    a = L.append
    a("# Long developer content: held-out privacy evaluation set (`long.jsonl`)\n")
    a("Evaluation-only data for the hybridagent privacy detector: ~1,500-character "
      "chunks of real, public third-party Python code and package documentation, half "
      "of them untouched (`sensitive: false`) and half with exactly one hand-written "
      "sensitive item inserted at a line boundary (`sensitive: true`).\n")
    a("**This set was written separately from the detector, by someone who did not read "
      "the detector, its training data or its routing code, and the detector was never "
      "trained or tuned on it. Do not add it to any training or threshold-tuning data; "
      "use it only to measure.**\n")
    a("## Files\n")
    a("- `long.jsonl`: %d rows, one JSON object per line, rows shuffled." % len(rows))
    a("- `make_long.py`: the generator (also writes this README). Its sensitive-item "
      "pool is written out in the script.")
    a("- `README-long.md`: this file.\n")
    a("## Row format\n")
    a("```")
    a('{"text": <chunk>, "sensitive": false, "category": "none", "kind": "long_clean", "source": "<path>:<first line>"}')
    a('{"text": <chunk>, "sensitive": true, "category": <id>, "kind": "long_inserted", "source": "<path>:<first line>", "inserted": <the inserted item>}')
    a("```\n")
    a("`source` is the path relative to site-packages plus the 1-based line number of the "
      "chunk's first line in that file (for `METADATA`, in the METADATA file itself). "
      "For inserted rows it is the position of the original chunk the item was put into. "
      "`inserted` is the inserted text exactly as it appears in `text`, minus leading "
      "indentation; PEM keys are multi-line but count as one item.\n")
    a("## Sources and versions\n")
    a("Only the installed sources of these distributions in `%s` were read:\n" % site)
    a("| distribution | version | code read from | docs read from |")
    a("|---|---|---|---|")
    for dist, roots in PROJECTS:
        d = [x["rel"] for x in docs if x["project"] == dist]
        a("| %s | %s | %s | %s |" % (dist, versions[dist], ", ".join(f"`{r}/**/*.py`" for r in roots),
                                    ", ".join(f"`{x}`" for x in d)))
    a("")
    a("- Docs are the long description (README, and for charset_normalizer its changelog) "
      "after the headers of each `*.dist-info/METADATA`, plus the two reST example pages "
      "shipped in `boto3/examples/`.")
    a("- Excluded: `botocore/data/` (JSON service models), `botocore/vendored/` (copies of "
      "six/requests/urllib3, not botocore's own code), `.py` files shorter than %d characters, "
      "and files that are binary or mostly data tables:" % MIN_LEN)
    for rel, why in skipped:
        a("  - `%s` (%s)" % (rel, why))
    a("- Nothing from the Python standard library or the project virtualenv was read.\n")
    a("## How the chunks were made\n")
    a("- A chunk is a contiguous run of whole lines (no edits, no filtering of content: "
      "whatever the real code and docs contain, placeholder keys, hashes, IPs and all, is "
      "kept) starting on a non-blank line, aiming at a random length in %d-%d characters "
      "and always %d-%d characters. " % (TARGET_LO, TARGET_HI, MIN_LEN, MAX_LEN))
    a("- Code chunks: files are drawn with weight sqrt(file size), at most %d chunks per "
      "file, and code chunks never overlap each other (clean or inserted)." % PER_FILE_CAP)
    a("- Doc chunks: the documentation is small (%d characters in %d files), so the "
      "%d doc chunks are spread evenly over each document (stratified starts) and **do "
      "overlap**; clean and inserted doc chunks alternate along each document, so many "
      "inserted doc chunks share most of their text with a neighbouring clean one. If you "
      "need independent doc samples, group by the path in `source`."
      % (doc_chars, len(docs), sum(1 for r in rows if ".dist-info/" in r["source"] or r["source"].startswith("boto3/examples/"))))
    a("- Inserted chunks: one item from the pool goes at a random interior line boundary, "
      "shaped to fit the spot: in Python code it is a statement with the right indentation "
      "or a `#` comment (inside brackets or after a decorator: comment only); inside a "
      "docstring or other multi-line string it is an indented sentence or example line; in "
      "Markdown/reST prose it is a sentence (a bullet item inside lists); in fenced / "
      "`code-block` sections it is a line of the block's language (Python, shell with `$ ` "
      "prompt, ini, ...). Boundaries inside tables, HTML, heading underlines and directive "
      "options are not used, nor spots in the middle of a wrapped sentence. For .py files the "
      "whole file, with the item inserted, must still compile. The chunk's tail is then trimmed at line boundaries so that "
      "the total length follows the clean length distribution where possible; the part "
      "around the insertion is always %d-%d characters, the total can exceed %d by the "
      "inserted item.\n" % (MIN_LEN, MAX_LEN, MAX_LEN))
    a("## Sensitive items\n")
    a("%d distinct items (%d used), all written by hand for this set with invented values: "
      "API keys in the real formats and lengths (OpenAI `sk-proj-`, Anthropic "
      "`sk-ant-api03-`, AWS `AKIA` + 40-character secrets, GitHub `ghp_`, GitLab `glpat-`, "
      "Slack `xoxb-`, Stripe `sk_live_`, Google `AIza`, Hugging Face, npm, SendGrid, Docker, "
      "Vault, Azure storage), JWTs that decode, EC / Ed25519 / OpenSSH private keys with "
      "correct DER/OpenSSH structure, passwords in assignments, flags, YAML, JSON, ini and "
      ".env lines, connection strings; card numbers passing Luhn and IBANs with valid check "
      "digits (both checked by the generator); SSNs and other national IDs; phone numbers, "
      "personal e-mails, home addresses, customer records; patient notes; salaries; home "
      "GPS coordinates, home IPs and MAC addresses with an owner; device serials / IMEIs "
      "tied to a person; private media and messages; religion, sexuality, politics, "
      "criminal record. Random-looking parts of keys were produced once with a throwaway "
      "random generator and pasted in as literals; no faker library was used. Each item is "
      "used at most %d times (use counts: %s).\n"
      % (len(pool), used_items, MAX_USES, ", ".join(f"{k}x: {v}" for k, v in sorted(uses.items()))))
    a("Category ids: `authentication` (credentials, keys, tokens, passwords), `contact` "
      "(personal e-mail, phone, postal address, customer contact records), `financial` "
      "(cards, bank accounts, IBANs, salaries, credit data), `identification` (SSN, "
      "passport, licence and other national ids, date of birth with a name), `health`, "
      "`location_network` (a person's coordinates, home IP, MAC address), `account_profile` "
      "(user profiles, account ids tied to a person), `device_incident` (device serials / "
      "IMEIs tied to a person, incidents about them), `media_content` (private photos, "
      "recordings, messages), `ancillary` (religion, sexuality, politics, criminal record).\n")
    a("## Counts\n")
    a("| kind | code | docs | total |")
    a("|---|---|---|---|")
    for kind, sens in (("long_clean", False), ("long_inserted", True)):
        rs = [r for r in rows if r["sensitive"] == sens]
        nd = sum(1 for r in rs if ".dist-info/" in r["source"] or r["source"].startswith("boto3/examples/"))
        a("| %s | %d | %d | %d |" % (kind, len(rs) - nd, nd, len(rs)))
    a("")
    a("| category | rows | share of inserted |")
    a("|---|---|---|")
    for c, q in CATEGORY_QUOTA:
        a("| %s | %d | %.1f%% |" % (c, cats[c], 100 * cats[c] / N_INSERTED))
    a("")
    a("| project | code chunks | doc chunks |")
    a("|---|---|---|")
    for dist, _ in PROJECTS:
        a("| %s | %d | %d |" % (dist, stats[("project", dist, "code")], stats[("project", dist, "doc")]))
    a("")
    a("Insertion spots (where / item form):\n")
    a("| where | form | rows |")
    a("|---|---|---|")
    for key, v in sorted((k, v) for k, v in stats.items() if k[0] in ("code", "doc")):
        a("| %s / %s | %s | %d |" % (key[0], key[1], key[2], v))
    a("")
    a("Lengths: clean %d-%d (median %d); inserted %d-%d (median %d). Chunks come from %d "
      "different files.\n" % (lens_c[0], lens_c[-1], lens_c[len(lens_c) // 2],
                              lens_i[0], lens_i[-1], lens_i[len(lens_i) // 2], len(srcs)))
    a("## Rebuilding\n")
    a("```")
    a("python3 tests/data/privacy_eval/make_long.py [--site /path/to/site-packages]")
    a("```\n")
    a("The script reads only the files listed above, uses `random.Random(%d)` and sorted "
      "file lists, validates its output (every line parses, counts, lengths, one inserted "
      "item per sensitive row, Luhn/IBAN checks, at most %d uses per item) and rewrites "
      "`long.jsonl` and this README. With the same package versions the output is "
      "identical; it warns if the installed versions differ from: %s.\n"
      % (SEED, MAX_USES, ", ".join(f"{k} {v}" for k, v in EXPECTED_VERSIONS.items())))
    a("## Caveats\n")
    a("- Clean chunks are real code and docs, so they contain things a detector may flag "
      "without being wrong to notice them: placeholder credentials in docs "
      "(`aws_access_key_id = YOUR_KEY`), example e-mail addresses and URLs, hashes, test "
      "vectors. They are labelled `sensitive: false` because the project's published "
      "sources hold no private data.")
    a("- Inserted items are plausible in place but not always perfectly natural (for "
      "example a credential line inside a reST changelog bullet list).")
    a("- Doc chunks overlap each other (see above); code chunks do not.")
    OUT_README.write_text("\n".join(L) + "\n", encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--site", default=os.environ.get("PRIVACY_EVAL_SITE", DEFAULT_SITE))
    args = ap.parse_args()
    site = Path(args.site)
    rows, pool, versions, skipped, stats, code, docs = build(site)
    for k, v in EXPECTED_VERSIONS.items():
        if versions.get(k) != v:
            print(f"warning: {k} is {versions.get(k)}, the published set used {v}", file=sys.stderr)
    kinds, cats, uses = validate(rows, pool)
    with OUT_JSONL.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    # re-read: every line must parse
    back = [json.loads(l) for l in OUT_JSONL.read_text(encoding="utf-8").splitlines()]
    assert back == rows
    write_readme(rows, pool, versions, skipped, stats, code, docs, site)
    print(f"wrote {OUT_JSONL} ({len(rows)} rows: {dict(kinds)})")
    print(f"categories: {dict(cats)}")
    print(f"pool: {len(pool)} items, use counts {dict(sorted(uses.items()))}")


if __name__ == "__main__":
    main()
