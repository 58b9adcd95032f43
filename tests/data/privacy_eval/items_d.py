"""Hand-written, invented sensitive items for the long_d held-out set.

Every value below is made up for this evaluation set.  Styles:

* ``kv``   -- (key, value): a credential / identifier in a machine format,
  rendered as an assignment, config line, JSON member or inline literal.
* ``line`` -- a verbatim machine line (log line, CLI call, fixture record),
  rendered as a comment, a literal-block line or an inline literal.
* ``prose`` -- a personal fact stated as a sentence, rendered as a comment,
  a docstring sentence or a sentence appended to a prose paragraph.

``kv`` and ``line`` count as "machine format"; ``prose`` counts as
"personal fact in prose".
"""

from __future__ import annotations

PEM_OPENSSH = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "83blvxSWdz0ZYWMmvlvlhQM2s28TvK5IFmiCE2gFp9G+Xp8naBD99yDQM8pPLlPL\n"
    "itGRndUan7bU1Qm6ZMjPaAPeUNg6Ls+661NCBxpIyy29V0qykVJXIjfE+2WaQBb3\n"
    "-----END OPENSSH PRIVATE KEY-----"
)

PEM_RSA = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAoRvGLFJxz2TyXW8VzFDEtz9MfmIVE6U8x+mc151/2ce85OBb\n"
    "CwH67njk6lvyzDYi4qLw0XbN7dRt2mUf9hZkQeS1cJp8vA3oYgTn5WiKr6HsDlMx\n"
    "-----END RSA PRIVATE KEY-----"
)

# (category, style, payload...)
ITEMS: list[tuple[str, ...]] = [
    # ---------------------------------------------------------------- contact
    ("contact", "kv", "oncall_email", "renata.kowalczyk@fastmail.com"),
    ("contact", "kv", "escalation_phone", "+44 7700 918 342"),
    ("contact", "kv", "billing_contact", "Joaquin Herrera <jherrera.home@gmail.com>, +34 612 48 93 07"),
    ("contact", "line", "From: Annelise Fjeld <annelise.fjeld@proton.me>  Tel: +47 924 61 385"),
    ("contact", "kv", "contact_person", "Mehmet Arslan, 14 Birchfield Road, Leeds LS6 2QT, 07911 402876"),
    ("contact", "line", "owner: Priya Venkataraman <priya.v.1988@yahoo.co.in> mobile +91 98450 27613"),
    ("contact", "prose", "If the nightly build breaks, text Gustavo Pereira on his personal cell, (617) 555-0182, not the team line."),
    ("contact", "prose", "Hannah Lindqvist asked that invoices go to her home address, Rosenlundsgatan 12, 118 53 Stockholm, until the office move is done."),
    ("contact", "prose", "Contact for the original patch: Oluwaseun Adeyemi, seun.adeyemi84@outlook.com, who prefers WhatsApp on +234 803 447 1290."),
    ("contact", "prose", "Kenji Watanabe's private number is 090-3381-7724; call him only if the release is blocked."),
    ("contact", "prose", "Mail the signed CLA to Beatriz Souza, Rua Harmonia 233, apto 41, Sao Paulo 05435-000."),
    ("contact", "prose", "Questions about the Windows wheels go to Lars Eriksen (lars.eriksen@hey.com, +45 28 93 41 07)."),
    ("contact", "prose", "Zsofia says her aunt Margit's landline, 06 1 354 2270, is the way to reach her over the holidays."),
    ("contact", "prose", "Reviewer of record: Chidi Okonkwo, 4410 Elm Creek Dr, Plano TX 75024, chidi.okonkwo@icloud.com."),
    ("contact", "prose", "Dmitri Volkov wants bounce reports forwarded to his wife's address, irina.volkova77@mail.ru, while he is away."),
    ("contact", "prose", "Fatima Zahra El Idrissi can be reached at +212 661-384-902 after 6pm Casablanca time."),
    # --------------------------------------------------------- identification
    ("identification", "kv", "test_user_ssn", "412-67-9038"),
    ("identification", "kv", "passport_no", "X83910457"),
    ("identification", "kv", "driver_license", "D420-7719-3382-06 (Illinois, Marcus Bell)"),
    ("identification", "kv", "national_id", "8504125038087"),
    ("identification", "kv", "employee_id", "EMP-00418273"),
    ("identification", "kv", "steuer_id", "47036892816"),
    ("identification", "line", "applicant=Ruth Abernathy ssn=523-81-4406 dob=1979-08-14"),
    ("identification", "kv", "nino", "JT 48 19 27 B"),
    ("identification", "kv", "aadhaar", "4829 1736 5021"),
    ("identification", "line", "vendor: Halvorsen Plumbing LLC  EIN 84-2917365  owner Erik Halvorsen SSN 377-09-5512"),
    ("identification", "prose", "Use Tomasz Wisniewski's passport number EN4471902 for the visa form; he sent a scan yesterday."),
    ("identification", "prose", "Sofia Marchetti's codice fiscale is MRCSFO91E52H501T, needed for the Italian contractor invoice."),
    ("identification", "prose", "Badge 77215 belongs to Andre Okafor in facilities; his employee ID is E-553019 if HR asks."),
    ("identification", "prose", "Nadia Haddad left her driver's licence number for the rental desk: S530-4418-9927 (Ontario)."),
    ("identification", "prose", "Olu Bankole's SIN is 532 918 447, so please do not paste it in the tracker again."),
    ("identification", "prose", "Keep the copy of Lucia Fernandez's DNI (48291736-K) out of the public bucket."),
    # --------------------------------------------------------------- financial
    ("financial", "kv", "card_number", "4256517880021585"),
    ("financial", "kv", "customer_card", "4108 6201 9132 7426"),
    ("financial", "kv", "cc_number", "5315942594724876"),
    ("financial", "line", "card=5394983550326243 exp=09/28 cvv=417 name=EMMA CLARKE"),
    ("financial", "kv", "amex_card", "375624180578894"),
    ("financial", "kv", "discover_card", "6011148654659250"),
    ("financial", "kv", "iban", "DE95370400440003102350"),
    ("financial", "kv", "payout_iban", "FR4730003012343470397011760"),
    ("financial", "kv", "refund_account", "NL67RABO0317264509"),
    ("financial", "line", "ach: routing=071923284 account=4830017729 holder=Kevin Mbeki"),
    ("financial", "kv", "wire_details", "IBAN GB06BARC20005583710294 BIC BARCGB22 (Simone Achterberg)"),
    ("financial", "line", "payroll export: name=Gwen Talbot sort_code=20-45-77 account=41930862 net=3412.55"),
    ("financial", "prose", "Rafael Ortiz's salary goes from $142,000 to $158,500 in January; keep it out of the changelog."),
    ("financial", "prose", "Noor Al-Sayed asked us to refund her card 4217 4218 0967 9292, expiry 11/27, before Friday."),
    ("financial", "prose", "Per the offer letter, Ben Adebayo starts at EUR 87,000 plus a EUR 10,000 signing bonus."),
    ("financial", "prose", "Transfer Mila Nowak's share of the conference costs to her account PL61 1090 1014 0000 0712 1981 2874."),
    # ---------------------------------------------------------- authentication
    ("authentication", "kv", "aws_access_key_id", "AKIAUJZDE8GXD6NCF10E"),
    ("authentication", "kv", "aws_secret_access_key", "El2hpChYgCfrL1spNxnyVmihA/2O76UMFxFkM/R5"),
    ("authentication", "kv", "github_token", "ghp_fljoQoaF1LlqsajAIxNKu8iS2G8NPRVdD53X"),
    ("authentication", "kv", "stripe_secret_key", "sk_live_Hx6kwXoIIXGvOoNZYW2mZp0z"),
    ("authentication", "kv", "slack_bot_token", "xoxb-163726516761-2220297299752-JJibaZUPgHV7iB3m03nbqnsG"),
    ("authentication", "kv", "google_maps_api_key", "AIzaptUsGr7CmY-uCu3ZR1zTOlUcR64cXQLioDn"),
    ("authentication", "kv", "sendgrid_api_key", "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"),
    ("authentication", "kv", "database_url", "postgresql://deploy:Wint3r-Harbor-92@db-prod.brightlane.io:5432/orders"),
    ("authentication", "line", "mysql -h 10.20.4.11 -u admin --password='Qv7!mPz2#rLe' billing"),
    ("authentication", "kv", "openai_api_key", "sk-proj-6xuI5aHUQPFeNBTxaQWk8JzFalHlsZfYcMMDktXP_tKsf2rc"),
    ("authentication", "kv", "gitlab_token", "glpat-DRzrZSgqbjG3uhkWKFLf"),
    ("authentication", "kv", "ssh_private_key", PEM_OPENSSH),
    ("authentication", "kv", "admin_password", "correct-h0rse-Battery!77"),
    ("authentication", "kv", "redis_url", "redis://:f9Kd2LmQx7Ws@cache-01.brightlane.io:6379/0"),
    ("authentication", "kv", "npm_token", "npm_1vauWv1zh87mTa5Vsqxezy3Lex7BWr2drgd1"),
    ("authentication", "kv", "vault_token", "hvs.AVHnyrvWdFrK9xiRGHOY32nf"),
    ("authentication", "line", "curl -u deploy:Hunter2-Prod-2024 https://ci.kestrelworks.dev/api/jobs"),
    ("authentication", "kv", "session_token", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1Xzg4MjEzIiwibmFtZSI6Iklsc2UgVmFuZGVybWVlciIsImlhdCI6MTczMTQwMjIxMX0.njHkAm1_5wDr16EpLLJIVGHz4FxFEtKyPiYGFDm7ena"),
    ("authentication", "kv", "rsa_private_key", PEM_RSA),
    ("authentication", "kv", "anthropic_api_key", "sk-ant-api03-DkdfrUnW5gcF-Ha6ili8GjHEAD6_Wj9KfzjsQGMrb9h-ImB-LK777pzNk8cL6j5IXAAjlsHUqJoUD_-Ydua-5ZMs1SWOpAA"),
    ("authentication", "kv", "twilio_auth_token", "9f2c4e71b08d3a65c1e7f40b2d98a6e3"),
    ("authentication", "kv", "pypi_api_token", "pypi-AgEIcHlwaS5vcmcKtFI3OyV2dZAkg05rK-gqv81RKMGHZEM9YpvujA_C5Q52ryFlwRlOEVHzc0X"),
    ("authentication", "prose", "Security questions for the shared bank login: mother's maiden name is Abernathy, first pet was Biscuit."),
    ("authentication", "prose", "Joanna's VPN password is still Marigold!1987; she said she would rotate it after the audit."),
    # ------------------------------------------------------------------ health
    ("health", "prose", "Leave the flaky-test triage to someone else; Dana Whitfield is in chemotherapy through March."),
    ("health", "prose", "Ahmed Karimi was diagnosed with type 1 diabetes last month and steps away for insulin checks during long calls."),
    ("health", "prose", "Giulia Romano takes sertraline 100mg in the mornings, so don't book her for the 8am standup rotation."),
    ("health", "prose", "Per Olsen's HbA1c came back at 8.4%, and his doctor wants him off night shifts."),
    ("health", "prose", "Maya Goldberg tested positive for COVID on Monday; her reviews are reassigned to Tom."),
    ("health", "prose", "Carlos Mendes is recovering from ACL reconstruction surgery and will work remotely until 12 May."),
    ("health", "prose", "Yuki Tanaka has epilepsy; if she has a seizure during the offsite, time it and call 112 after five minutes."),
    ("health", "prose", "Sam Whitaker's bipolar II diagnosis is why he asked for no on-call; keep this between leads."),
    ("health", "prose", "Elena Popescu is 22 weeks pregnant with gestational diabetes, so no travel for her after June."),
    ("health", "prose", "Kwame Asante's biopsy results came back benign, but he is out Thursday for the follow-up."),
    ("health", "prose", "Lena Hoffmann is on methotrexate for rheumatoid arthritis and should skip the vaccine-day clinic."),
    ("health", "prose", "Rohan Mehta's therapist recommended reduced hours for his anxiety disorder through Q3."),
    ("health", "prose", "Ines Carvalho has a severe peanut allergy and carries an EpiPen; order the team lunch accordingly."),
    ("health", "prose", "Bogdan Ilic's cholesterol panel showed LDL 191 mg/dL; he asked me to keep the printout in the drawer."),
    ("health", "line", '{"patient": "Ruth Okafor", "dob": "1962-03-09", "dx": "E11.9", "a1c": 8.9, "metformin_mg": 1000}'),
    ("health", "kv", "fixture_patient", "Harold Finch, MRN 00482716, HIV-1 viral load undetectable (2025-02-11)"),
    # -------------------------------------------------------- location_network
    ("location_network", "kv", "home_wifi_psk", "plum-orchard-4417"),
    ("location_network", "line", 'network={ ssid="Fernandez-Home-5G" psk="tortilla_sunday_1983" }'),
    ("location_network", "kv", "anke_home_ip", "86.142.77.203"),
    ("location_network", "kv", "marco_home_gps", "41.88634, -87.66472"),
    ("location_network", "line", "allow 73.158.22.91;  # Jorge Salas's house, for the staging dashboard"),
    ("location_network", "line", "ssh -p 2222 wei@98.207.114.36  # Wei Zhang's home NAS"),
    ("location_network", "kv", "home_address", "27 Larkspur Lane, Boulder, CO 80304 (Nora Kim)"),
    ("location_network", "line", "wpa_passphrase MorganFamilyNet 'sleepy-otter-biscuit-9'"),
    ("location_network", "prose", "Ship the spare YubiKeys to Felix Brandt's flat, Kastanienallee 41, 10435 Berlin, second floor."),
    ("location_network", "prose", "The Wi-Fi at Amara Okoro's house is Okoro_Guest with passphrase mangoSeason#22, if you're at the hackathon there."),
    ("location_network", "prose", "Tomas Novak works from his cabin at 44.2619, -72.5806 most Fridays, so expect spotty latency."),
    ("location_network", "prose", "Liang Chen's home router is at 24.17.93.150; he whitelisted it on the bastion."),
    ("location_network", "prose", "Our CI runner is literally under Priscilla Grant's desk at home, 1182 Oakmont Ave, Sunnyvale."),
    ("location_network", "prose", "Jonas Madsen lives two doors down from the daycare at Vesterbrogade 118, so he usually does pickup."),
    ("location_network", "prose", "Gabriela Ruiz's home is the yellow house at 19.43261, -99.13318; she hosts the Mexico City meetups."),
    ("location_network", "prose", "Henrik Berg's parents' summer house on Tjorn (58.0027, 11.6398) is where the backup NAS lives."),
    # --------------------------------------------------------- account_profile
    ("account_profile", "kv", "admin_login", "m.delacroix.adm"),
    ("account_profile", "line", "last_login user=svetlana.ivanova@corpmail.ru ip=91.204.18.77 at=2025-10-02T22:14:09Z"),
    ("account_profile", "kv", "maintainer_handle", "@tlin_builds (Tiffany Lin, ex-Dropbox)"),
    ("account_profile", "kv", "linkedin_profile", "https://www.linkedin.com/in/hugo-marchand-6b2a91"),
    ("account_profile", "prose", "Ravi Shankar goes by ravi_s_ghost on Reddit, where he posts about his layoff from Intel."),
    ("account_profile", "prose", "Eva Novak left Shopify in 2022 after four years on the payments team, then spent eight months at a startup that folded."),
    ("account_profile", "prose", "The account bzhao_88 is Bo Zhao's personal GitHub; he asked that we stop tagging it in work issues."),
    ("account_profile", "prose", "Mariana Duarte's Steam handle is LaMariposaNegra; she is the one who reported the save-file bug."),
    ("account_profile", "prose", "Before joining us, Kofi Mensah was let go from Deloitte over a missed client deadline; he told me in confidence."),
    ("account_profile", "prose", "Natalia Ruiz uses the login nruiz_home on the family iCloud account she shares with her kids."),
    ("account_profile", "prose", "Pieter de Vries was a nurse for twelve years before switching to backend work in 2019."),
    ("account_profile", "prose", "Aiko Sato's Instagram is @aiko.bakes.tokyo; she asked that we not link it from the team page."),
    ("account_profile", "prose", "Frank Osei is interviewing with Stripe next week and hasn't told his manager."),
    ("account_profile", "prose", "Lucas Moreau's old handle on the mailing list was lmoreau-at-free; he changed it after the harassment incident."),
    ("account_profile", "prose", "Sunita Rao worked at Infosys from 2011 to 2016 and then at Amazon in Seattle until the 2023 layoffs."),
    ("account_profile", "prose", "The Discord user gearhead_dave is Dave Kowalski from accounting."),
    # --------------------------------------------------------- device_incident
    ("device_incident", "line", "Oct 14 02:11:37 hildas-macbook kernel: USB disconnect, serial C02ZK1ABMD6T (owner: Hilda Brandt)"),
    ("device_incident", "kv", "device_imei", "352094810376218 (Owen Price's Pixel 8)"),
    ("device_incident", "line", "2025-09-21 23:48:02 doorbell[front-door, Patel residence] motion detected, clip uploaded"),
    ("device_incident", "kv", "laptop_serial", "PF3KX9Q2 (ThinkPad X1 assigned to Jae-won Park)"),
    ("device_incident", "line", "[thermostat 09AA01AC3416] Mendoza home: HVAC fault E74, heating disabled 03:12"),
    ("device_incident", "line", "kernel: [  412.8821] ath10k_pci: firmware crashed! (Greta Lund's home desktop, SN 5CG2041XQZ)"),
    ("device_incident", "kv", "phone_serial", "F2LZ8QJ3N72K (iPhone of Daniel Rosen)"),
    ("device_incident", "line", "2025-11-30T06:02:19Z vacuum-1192 owner=Akua Boateng error=stuck_wheel room=kids_bedroom"),
    ("device_incident", "prose", "Ilse Vandermeer's home laptop, service tag 7HK2LM3, is the one that got the ransomware popup last night."),
    ("device_incident", "prose", "Connor Walsh's daughter spilled juice on his work MacBook, serial C02DX4HJQ05N; IT is swapping it Monday."),
    ("device_incident", "prose", "The crash dump came from Marta Kaczmarek's Galaxy S23, IMEI 354812119046372, while she was at home."),
    ("device_incident", "prose", "Wen Li's baby monitor kept dropping off her home network at 3am, which is where these DHCP logs come from."),
    ("device_incident", "prose", "Aleksander Nowicki lost his YubiKey, serial 18832710, on the tram; revoke it before he re-enrolls."),
    ("device_incident", "prose", "Sipho Dlamini's smart lock logged an unlock by code 4471 at 2:14am while he was travelling, and he filed a police report."),
    ("device_incident", "prose", "Rebecca Hunt's car, VIN 1HGCV1F34LA027315, reported a crash through the telematics API we are testing."),
    ("device_incident", "prose", "Mateo Silva's Fitbit synced 31 nights of his sleep data to the staging bucket by mistake."),
    # ----------------------------------------------------------- media_content
    ("media_content", "line", "EXIF GPSLatitude=37.7712 GPSLongitude=-122.4471 Artist=Clara Jensen File=IMG_4471.HEIC"),
    ("media_content", "line", '{"from": "Tariq", "to": "Leila", "text": "I cannot tell Mom about the divorce yet, please keep it quiet"}'),
    ("media_content", "line", "history: 02:13 webmd.com/depression-test 02:19 betterhelp.com/get-started (Josh Carter's laptop)"),
    ("media_content", "kv", "sample_dm", "hey it's Marisol, the test came back positive, I'm scared, don't tell anyone at work"),
    ("media_content", "prose", "Kim wrote to me: 'I think Dev is drinking again, he missed our kid's recital.'"),
    ("media_content", "prose", "Browsing history from Ollie Grant's work laptop showed indeed.com and a divorce lawyer's site the week before he resigned."),
    ("media_content", "prose", "The photo Sara Lindgren posted in #random still has GPS in its EXIF, 40.71858, -73.95727, which is her apartment."),
    ("media_content", "prose", "Ahmed forwarded me his wife's message: 'The bank called again about the overdue mortgage, we need to talk tonight.'"),
    ("media_content", "prose", "Jess Moreno's search history on the shared kiosk included 'how to tell my parents I'm gay'; I cleared it."),
    ("media_content", "prose", "The voicemail Pavel left Irina said he'd be in Warsaw for the custody hearing on the 14th."),
    ("media_content", "prose", "In her DM to Hugo, Bettina Klein wrote that she is applying to other jobs because of her manager."),
    ("media_content", "prose", "Screenshot from Linnea Ek's phone: 'Mum's dementia is getting worse, I might need to move back to Uppsala.'"),
    ("media_content", "prose", "Vikram Iyer's watch history on the demo TV was all baby-name videos, and they haven't announced yet."),
    ("media_content", "prose", "The EXIF on Daniel Roth's hike photos puts him at 46.5197, 6.6323 every weekend, near his ex's place."),
    ("media_content", "prose", "Marcus emailed Theo: 'I'm being evaluated for ADHD, please don't mention it to the team.'"),
    ("media_content", "prose", "Camila Vega's Spotify history shows she has been looping the same breakup playlist since the 3rd."),
    # --------------------------------------------------------------- ancillary
    ("ancillary", "prose", "Dev Malhotra is out until the 18th; his mother is in hospice in Pune."),
    ("ancillary", "prose", "Sophie Laurent and her husband are separating, so be flexible about her schedule this month."),
    ("ancillary", "prose", "Tobias Kramer's son was arrested last weekend, and he may need to leave early for court."),
    ("ancillary", "prose", "Aisha Rahman is fasting for Ramadan, so move the lunch demo to after sunset."),
    ("ancillary", "prose", "Nikolai Petrov's wife just had twins, Anya and Pavel, so he is on leave until October."),
    ("ancillary", "prose", "Hye-jin Choi is going through IVF and may miss mornings; don't ask her why."),
    ("ancillary", "prose", "Brian Doyle's brother died in the crash on I-80 last week; the team sent flowers."),
    ("ancillary", "prose", "Leilani Kahale is getting married on 6 June in Maui, and half the team is invited."),
    ("ancillary", "prose", "Our intern Caleb Foster is 17, so he can't join the bar outing after the sprint."),
    ("ancillary", "prose", "Francesca Bruno is a Jehovah's Witness and doesn't celebrate birthdays, so skip the cake."),
    ("ancillary", "prose", "Omar Haddad is waiting on his asylum hearing in April; avoid scheduling travel for him."),
    ("ancillary", "prose", "Greta Sundberg's divorce is finalized Friday and she'll be at the lawyer's office all morning."),
    ("ancillary", "prose", "Jamal Wright's dad was deported last month, and Jamal has been running the family shop remotely since."),
    ("ancillary", "prose", "Rita Ferreira votes Green and hates it when the politics channel gets heated, so go easy."),
    ("ancillary", "prose", "Kasper Holm's ex-wife has a restraining order against him, so never give out his address."),
    ("ancillary", "prose", "Yasmin Aziz came out to the team at the offsite; let her decide who else knows."),
    ("ancillary", "prose", "Marek Zielinski's father had a stroke on Sunday, so Marek is flying to Gdansk tonight."),
    ("ancillary", "prose", "Chiara Colombo is adopting a little girl from Colombia and will be away most of November."),
]

CATEGORIES = (
    "contact",
    "identification",
    "financial",
    "authentication",
    "health",
    "location_network",
    "account_profile",
    "device_incident",
    "media_content",
    "ancillary",
)
