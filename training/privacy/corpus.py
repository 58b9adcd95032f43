# ruff: noqa: E501
"""Synthetic training corpus for the learned privacy classifier.

Every row is a prompt a user might send, labelled `sensitive` when it holds private data
(stated, obfuscated or described) that must not leave the machine. Rows come from
templates filled by value generators (names of many cultures, Luhn-valid cards, mod-97
IBANs, API keys with real prefixes, addresses of several countries, ...). Negatives are
as important as positives: general questions about the same topics, placeholders and
documentation values, typo'd questions, and everyday requests with no private data.

Run `python -m training.privacy.corpus > corpus.jsonl` for JSON lines, or `--stats` for
the counts per category and kind. Output is deterministic for a given seed: one
`random.Random` per bucket, seeded from the seed and the bucket's name, no clocks, no set
iteration.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import string
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from random import Random

from hybridagent.routing.categories import CATEGORIES
from training.privacy.breadth import EXTRA, EXTRA_GENERIC, VOCAB
from training.privacy.everyday import EVERYDAY


@dataclass(frozen=True)
class Row:
    text: str
    sensitive: bool
    category: str
    kind: str


POSITIVE_KINDS: tuple[str, ...] = ("direct", "typo", "contextual")
NEGATIVE_KINDS: tuple[str, ...] = ("topic", "false_keyword", "typo_question", "generic")
KINDS: tuple[str, ...] = POSITIVE_KINDS + NEGATIVE_KINDS

# ---------------------------------------------------------------------------------------
# Filler vocabularies
# ---------------------------------------------------------------------------------------

# culture -> (first names, family names)
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "english": (
        (
            "James",
            "Olivia",
            "Liam",
            "Emma",
            "Noah",
            "Charlotte",
            "Oliver",
            "Amelia",
            "Harry",
            "Sophie",
            "Jack",
            "Grace",
            "Ethan",
            "Chloe",
            "Megan",
            "Daniel",
            "Hannah",
            "Ryan",
            "Lauren",
            "Connor",
            "Bethany",
            "Gareth",
            "Siobhan",
            "Callum",
        ),
        (
            "Johnson",
            "Williams",
            "Brown",
            "Taylor",
            "Davies",
            "Evans",
            "Walker",
            "Wright",
            "Thompson",
            "Robinson",
            "Hughes",
            "Clarke",
            "Morgan",
            "Cooper",
            "Bennett",
            "Fletcher",
            "Harrison",
            "Gallagher",
            "Sullivan",
            "Murphy",
            "O'Brien",
            "McAllister",
        ),
    ),
    "spanish": (
        (
            "Sofía",
            "Mateo",
            "Valentina",
            "Santiago",
            "Camila",
            "Diego",
            "Lucía",
            "Alejandro",
            "Isabella",
            "Javier",
            "Carmen",
            "Andrés",
            "Ximena",
            "Joaquín",
        ),
        (
            "García",
            "Martínez",
            "Rodríguez",
            "López",
            "Hernández",
            "González",
            "Pérez",
            "Sánchez",
            "Ramírez",
            "Torres",
            "Flores",
            "Castillo",
            "Morales",
            "Vargas",
        ),
    ),
    "portuguese": (
        (
            "João",
            "Ana",
            "Pedro",
            "Beatriz",
            "Lucas",
            "Mariana",
            "Gabriel",
            "Larissa",
            "Thiago",
            "Fernanda",
            "Rafael",
            "Juliana",
        ),
        (
            "Silva",
            "Santos",
            "Oliveira",
            "Souza",
            "Costa",
            "Ferreira",
            "Almeida",
            "Carvalho",
            "Ribeiro",
            "Pereira",
            "Rocha",
            "Barbosa",
        ),
    ),
    "chinese": (
        (
            "Wei",
            "Jing",
            "Hao",
            "Xiaoming",
            "Mei",
            "Yan",
            "Jun",
            "Lei",
            "Fang",
            "Yi",
            "Zhiwei",
            "Xinyi",
        ),
        ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun"),
    ),
    "indian": (
        (
            "Aarav",
            "Priya",
            "Rohan",
            "Ananya",
            "Vikram",
            "Sneha",
            "Arjun",
            "Kavya",
            "Rahul",
            "Deepika",
            "Sanjay",
            "Lakshmi",
            "Aditya",
            "Meera",
            "Harpreet",
            "Gurpreet",
        ),
        (
            "Sharma",
            "Patel",
            "Iyer",
            "Reddy",
            "Nair",
            "Gupta",
            "Singh",
            "Kumar",
            "Mehta",
            "Desai",
            "Chatterjee",
            "Rao",
            "Joshi",
            "Banerjee",
            "Pillai",
        ),
    ),
    "arabic": (
        (
            "Mohammed",
            "Fatima",
            "Omar",
            "Aisha",
            "Youssef",
            "Layla",
            "Ahmed",
            "Mariam",
            "Karim",
            "Noor",
            "Hassan",
            "Zainab",
            "Tariq",
            "Samira",
        ),
        (
            "Al-Sayed",
            "Haddad",
            "Khalil",
            "Nasser",
            "Hussein",
            "Mansour",
            "El-Amin",
            "Saleh",
            "Farouk",
            "Abdullah",
            "Rahman",
            "Bakr",
        ),
    ),
    "west_african": (
        (
            "Chinedu",
            "Ngozi",
            "Oluwaseun",
            "Adaeze",
            "Emeka",
            "Funmilayo",
            "Tunde",
            "Chiamaka",
            "Kwame",
            "Ama",
            "Kofi",
            "Abena",
            "Ifeoma",
            "Yaw",
        ),
        (
            "Okafor",
            "Adeyemi",
            "Okonkwo",
            "Balogun",
            "Eze",
            "Nwosu",
            "Mensah",
            "Asante",
            "Boateng",
            "Owusu",
            "Obi",
            "Adebayo",
        ),
    ),
    "east_african": (
        (
            "Juma",
            "Amani",
            "Baraka",
            "Neema",
            "Wanjiru",
            "Achieng",
            "Kamau",
            "Zawadi",
            "Abebe",
            "Tigist",
        ),
        (
            "Mwangi",
            "Otieno",
            "Kariuki",
            "Njoroge",
            "Odhiambo",
            "Wambui",
            "Kiprop",
            "Mutua",
            "Tesfaye",
            "Haile",
        ),
    ),
    "japanese": (
        (
            "Haruto",
            "Yui",
            "Sota",
            "Aoi",
            "Ren",
            "Hina",
            "Kenji",
            "Sakura",
            "Takumi",
            "Yuki",
            "Hiroshi",
            "Emi",
        ),
        (
            "Sato",
            "Suzuki",
            "Takahashi",
            "Tanaka",
            "Watanabe",
            "Ito",
            "Yamamoto",
            "Nakamura",
            "Kobayashi",
            "Kato",
            "Yoshida",
            "Yamada",
        ),
    ),
    "korean": (
        (
            "Min-jun",
            "Seo-yeon",
            "Ji-ho",
            "Ha-eun",
            "Do-yun",
            "Ji-woo",
            "Hyun-woo",
            "Soo-ah",
            "Jae-won",
            "Eun-ji",
        ),
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim"),
    ),
    "slavic": (
        (
            "Dmitri",
            "Anastasia",
            "Alexei",
            "Ekaterina",
            "Sergei",
            "Olga",
            "Ivan",
            "Natalia",
            "Mikhail",
            "Yulia",
            "Andriy",
            "Oksana",
            "Bogdan",
            "Milena",
        ),
        (
            "Ivanov",
            "Petrova",
            "Smirnov",
            "Kuznetsova",
            "Popov",
            "Sokolova",
            "Volkov",
            "Morozova",
            "Shevchenko",
            "Kovalenko",
            "Bondarenko",
            "Horvat",
        ),
    ),
    "german": (
        (
            "Lukas",
            "Lena",
            "Felix",
            "Anna",
            "Jonas",
            "Marie",
            "Maximilian",
            "Laura",
            "Tobias",
            "Katharina",
            "Moritz",
            "Johanna",
            "Jürgen",
            "Sabine",
        ),
        (
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Hoffmann",
            "Schulz",
            "Koch",
            "Richter",
        ),
    ),
    "french": (
        (
            "Louis",
            "Camille",
            "Hugo",
            "Manon",
            "Jules",
            "Chloé",
            "Théo",
            "Léa",
            "Antoine",
            "Inès",
            "Mathieu",
            "Élodie",
        ),
        (
            "Martin",
            "Bernard",
            "Dubois",
            "Thomas",
            "Robert",
            "Richard",
            "Petit",
            "Durand",
            "Leroy",
            "Moreau",
            "Lefèvre",
            "Girard",
        ),
    ),
    "polish": (
        (
            "Jakub",
            "Zuzanna",
            "Kacper",
            "Julia",
            "Bartosz",
            "Magdalena",
            "Piotr",
            "Agnieszka",
            "Łukasz",
            "Małgorzata",
        ),
        (
            "Kowalski",
            "Nowak",
            "Wiśniewska",
            "Wójcik",
            "Kamiński",
            "Lewandowska",
            "Zieliński",
            "Szymańska",
        ),
    ),
    "vietnamese": (
        ("Minh", "Linh", "Tuan", "Huong", "Duc", "Thao", "Quang", "Lan", "Bao", "Mai"),
        ("Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu", "Dang", "Bui"),
    ),
    "turkish": (
        ("Emre", "Elif", "Mehmet", "Zeynep", "Burak", "Ayşe", "Can", "Selin", "Oğuz", "Deniz"),
        ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk"),
    ),
    "nordic": (
        ("Erik", "Ingrid", "Lars", "Astrid", "Mikkel", "Sigrid", "Nils", "Freja", "Bjørn", "Saga"),
        ("Andersson", "Johansson", "Hansen", "Nielsen", "Larsen", "Lindqvist", "Berg", "Eriksen"),
    ),
    "italian": (
        ("Giulia", "Marco", "Francesca", "Alessandro", "Chiara", "Luca", "Martina", "Matteo"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"),
    ),
    "filipino": (
        ("Jose", "Maria", "Angelo", "Kristine", "Mark Anthony", "Joy", "Rhea", "Jericho"),
        ("Santos", "Reyes", "Cruz", "Bautista", "Dela Cruz", "Villanueva", "Mendoza", "Aquino"),
    ),
    "hebrew": (
        ("Noa", "Yonatan", "Tamar", "Itai", "Shira", "Eitan", "Avi", "Dana"),
        ("Cohen", "Levi", "Mizrahi", "Friedman", "Peretz", "Biton", "Shapiro", "Katz"),
    ),
    "persian": (
        ("Dariush", "Shirin", "Reza", "Parisa", "Kian", "Nasrin", "Arash", "Leila"),
        ("Hosseini", "Karimi", "Moradi", "Rostami", "Tehrani", "Jafari", "Ahmadi", "Rezaei"),
    ),
}
CULTURES: tuple[str, ...] = tuple(NAMES)

EMAIL_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "outlook.com",
    "hotmail.com",
    "hotmail.fr",
    "live.com",
    "proton.me",
    "protonmail.com",
    "icloud.com",
    "me.com",
    "web.de",
    "gmx.net",
    "gmx.de",
    "t-online.de",
    "mail.ru",
    "yandex.ru",
    "qq.com",
    "163.com",
    "naver.com",
    "daum.net",
    "rediffmail.com",
    "uol.com.br",
    "bol.com.br",
    "libero.it",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "btinternet.com",
    "sky.com",
    "aol.com",
    "comcast.net",
    "fastmail.com",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "yahoo.co.jp",
    "docomo.ne.jp",
    "bigpond.com",
    "xtra.co.nz",
    "telus.net",
    "tutanota.com",
)
COMPANIES: tuple[tuple[str, str], ...] = (
    ("Okafor & Sons Logistics", "okaforlogistics.ng"),
    ("Brightwater Dental", "brightwaterdental.co.uk"),
    ("Kessler Maschinenbau", "kessler-mb.de"),
    ("Lumen Analytics", "lumenanalytics.io"),
    ("Taniguchi Foods", "taniguchi-foods.co.jp"),
    ("Café Lumière", "cafelumiere.fr"),
    ("Riverside Community Hospital", "riversidehealth.org"),
    ("Northbridge Capital", "northbridgecap.com"),
    ("Vasquez Construction", "vasquezbuilds.com"),
    ("Infosys", "infosys.com"),
    ("Accenture", "accenture.com"),
    ("Deloitte", "deloitte.com"),
    ("Shopify", "shopify.com"),
    ("Siemens", "siemens.com"),
    ("Tata Consultancy Services", "tcs.com"),
    ("Unilever", "unilever.com"),
    ("Zalando", "zalando.de"),
    ("Nubank", "nubank.com.br"),
    ("Canva", "canva.com"),
    ("Rakuten", "rakuten.co.jp"),
    ("Meridian Insurance Group", "meridian-ins.com"),
    ("Harbourside Primary School", "harbourside.sch.uk"),
    ("Pinecrest Veterinary Clinic", "pinecrestvet.ca"),
    ("Sahara Solar", "saharasolar.ma"),
    ("Bluefin Software", "bluefin.dev"),
    ("Greenleaf Pharmacy", "greenleafrx.com"),
)
RELATIVES = (
    "sister",
    "brother",
    "mum",
    "mom",
    "dad",
    "wife",
    "husband",
    "son",
    "daughter",
    "grandmother",
    "grandad",
    "uncle",
    "aunt",
    "cousin",
    "partner",
    "boyfriend",
    "girlfriend",
    "father-in-law",
    "mother-in-law",
    "niece",
    "nephew",
    "stepdad",
    "stepson",
    "twin sister",
    "little brother",
    "older sister",
    "fiancée",
    "ex-husband",
)
OTHERS = (
    "coworker",
    "colleague",
    "manager",
    "boss",
    "neighbour",
    "neighbor",
    "flatmate",
    "roommate",
    "best friend",
    "friend",
    "landlord",
    "tenant",
    "student",
    "employee",
    "client",
    "patient",
    "teammate",
    "intern",
    "team lead",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CONDITIONS = (
    "type 2 diabetes",
    "type 1 diabetes",
    "major depressive disorder",
    "generalized anxiety disorder",
    "bipolar II disorder",
    "ADHD",
    "epilepsy",
    "Crohn's disease",
    "ulcerative colitis",
    "hypothyroidism",
    "rheumatoid arthritis",
    "multiple sclerosis",
    "endometriosis",
    "PCOS",
    "HIV",
    "hepatitis C",
    "chlamydia",
    "stage 2 breast cancer",
    "prostate cancer",
    "severe asthma",
    "COPD",
    "atrial fibrillation",
    "high blood pressure",
    "celiac disease",
    "schizophrenia",
    "PTSD",
    "anorexia",
    "bulimia",
    "an alcohol use disorder",
    "opioid dependence",
    "long COVID",
    "fibromyalgia",
    "psoriasis",
    "lupus",
    "glaucoma",
    "sleep apnea",
    "gout",
    "chronic migraine",
    "autism",
    "OCD",
    "early-onset Alzheimer's",
    "Parkinson's",
    "a heart murmur",
    "herpes",
    "HPV",
    "kidney disease",
    "leukemia",
    "a brain tumour",
    "postpartum depression",
    "borderline personality disorder",
    "tinnitus",
)
MEDS = (
    "metformin 500 mg",
    "sertraline 100 mg",
    "escitalopram 10 mg",
    "lithium 300 mg",
    "methylphenidate 36 mg",
    "levothyroxine 75 mcg",
    "Humira",
    "lamotrigine 200 mg",
    "quetiapine 50 mg",
    "bupropion XL 150 mg",
    "insulin glargine 20 units",
    "atorvastatin 40 mg",
    "lisinopril 10 mg",
    "apixaban 5 mg",
    "Biktarvy",
    "PrEP",
    "buprenorphine 8 mg",
    "Ozempic 1 mg",
    "prednisone 20 mg",
    "fluoxetine 20 mg",
    "venlafaxine 75 mg",
    "tamoxifen 20 mg",
    "sumatriptan 50 mg",
    "diazepam 5 mg",
    "zolpidem 10 mg",
    "methotrexate 15 mg",
    "Adderall 20 mg",
    "Vyvanse 40 mg",
    "naltrexone 50 mg",
    "clonazepam 0.5 mg",
    "aripiprazole 5 mg",
    "amlodipine 5 mg",
    "omeprazole 40 mg",
    "mirtazapine 15 mg",
    "Wegovy",
    "testosterone gel",
    "estradiol patches",
)
MED_NAMES = (
    "metformin",
    "sertraline",
    "ibuprofen",
    "paracetamol",
    "lisinopril",
    "atorvastatin",
    "omeprazole",
    "amoxicillin",
    "levothyroxine",
    "escitalopram",
    "prednisone",
    "gabapentin",
    "melatonin",
    "lithium",
    "warfarin",
    "insulin",
    "Ozempic",
    "Adderall",
    "vitamin D",
    "cetirizine",
    "loratadine",
    "tramadol",
    "doxycycline",
    "finasteride",
)
SYMPTOMS = (
    "chest pain",
    "a rash on my arms",
    "blood in my urine",
    "night sweats",
    "numbness in my left hand",
    "a lump in my breast",
    "panic attacks",
    "constant headaches",
    "a swollen lymph node",
    "blurry vision",
    "shortness of breath",
    "heart palpitations",
    "pain when I pee",
    "dizziness",
    "hair loss",
    "ringing in my ears",
)
INSURERS = (
    "Aetna",
    "Blue Cross Blue Shield",
    "UnitedHealthcare",
    "Cigna",
    "Kaiser Permanente",
    "Humana",
    "AOK",
    "Techniker Krankenkasse",
    "Bupa",
    "AXA Health",
    "Medibank",
    "Sun Life",
    "Allianz Care",
    "Vitality",
    "Oscar Health",
    "Anthem",
)
HOSPITALS = (
    "St Thomas' Hospital",
    "Mass General",
    "Charité",
    "the Royal Infirmary",
    "Apollo Hospitals",
    "Mayo Clinic",
    "Hôpital Lariboisière",
    "Toronto General",
    "the county hospital",
    "Cedars-Sinai",
    "Guy's",
    "the walk-in clinic on 5th",
)
BANKS = (
    "Chase",
    "Bank of America",
    "Wells Fargo",
    "Barclays",
    "HSBC",
    "Lloyds",
    "Monzo",
    "Revolut",
    "N26",
    "Deutsche Bank",
    "Sparkasse",
    "BNP Paribas",
    "Santander",
    "ING",
    "Rabobank",
    "ICICI Bank",
    "HDFC",
    "Itaú",
    "Nubank",
    "Commonwealth Bank",
    "TD Bank",
    "RBC",
    "Capital One",
    "Wise",
    "Credit Agricole",
    "UniCredit",
    "GTBank",
    "Access Bank",
)
SERVICES = (
    "Gmail",
    "Netflix",
    "Amazon",
    "PayPal",
    "Instagram",
    "Facebook",
    "Steam",
    "Spotify",
    "Apple ID",
    "Outlook",
    "LinkedIn",
    "Dropbox",
    "Slack",
    "GitHub",
    "Discord",
    "Uber",
    "Airbnb",
    "eBay",
    "TikTok",
    "WhatsApp",
    "Coinbase",
    "Xbox Live",
)
STREET_NAMES_EN = (
    "Maple",
    "Oak",
    "Cedar",
    "Elm",
    "Pine",
    "Willow",
    "Birch",
    "Chestnut",
    "Highland",
    "Lakeview",
    "Sunset",
    "Ridge",
    "Kingsley",
    "Victoria",
    "Albert",
    "Church",
    "Station",
    "Mill",
    "Park",
    "Grove",
    "Hawthorn",
    "Ashford",
    "Beacon",
    "Orchard",
)
LANDMARKS = (
    "the school",
    "the petrol station",
    "the mosque",
    "the old church",
    "the Tesco",
    "the Lidl",
    "the football pitch",
    "the roundabout",
    "the bakery",
    "the fire station",
    "the post office",
    "the laundromat",
    "the big oak tree",
    "the bus depot",
    "the pharmacy",
    "the primary school",
    "the temple",
    "the kebab shop",
    "the vet",
    "the library",
)
COLOURS = ("yellow", "blue", "red", "green", "white", "grey", "brick", "pink", "black", "cream")
PETS = (
    "Biscuit",
    "Luna",
    "Max",
    "Bella",
    "Mochi",
    "Simba",
    "Pepper",
    "Coco",
    "Rocky",
    "Nala",
    "Oreo",
    "Tofu",
    "Bruno",
    "Kiwi",
)
CAR_MODELS = (
    "Toyota Corolla",
    "Honda Civic",
    "VW Golf",
    "Ford Focus",
    "Tesla Model 3",
    "BMW 320d",
    "Hyundai Tucson",
    "Kia Sportage",
    "Renault Clio",
    "Skoda Octavia",
    "Mazda CX-5",
    "Nissan Leaf",
    "Fiat 500",
    "Subaru Outback",
    "Ford F-150",
    "Peugeot 208",
    "Mercedes C-Class",
    "Volvo XC60",
    "Toyota Prius",
    "Dacia Duster",
)
DEVICES = (
    "MacBook Pro",
    "MacBook Air",
    "ThinkPad X1 Carbon",
    "Dell XPS 13",
    "iPhone 15",
    "iPhone 13",
    "Galaxy S23",
    "Pixel 8",
    "iPad Air",
    "Surface Pro 9",
    "Apple Watch",
    "PS5",
    "Nintendo Switch",
    "Kindle",
    "HP Envy",
    "Garmin Forerunner",
)
JOBS = (
    "software engineer",
    "nurse",
    "accountant",
    "teacher",
    "warehouse supervisor",
    "data analyst",
    "pharmacist",
    "project manager",
    "HR business partner",
    "sales associate",
    "graphic designer",
    "paralegal",
    "line cook",
    "bus driver",
    "civil engineer",
    "dental hygienist",
    "marketing coordinator",
    "electrician",
    "barista",
    "postdoc",
)
CITIES = (
    "Lagos",
    "Manchester",
    "Lyon",
    "Osaka",
    "Toronto",
    "Austin",
    "Bengaluru",
    "São Paulo",
    "Berlin",
    "Nairobi",
    "Melbourne",
    "Madrid",
    "Seoul",
    "Warsaw",
    "Istanbul",
    "Mexico City",
    "Leeds",
    "Porto",
    "Hanoi",
    "Cairo",
    "Glasgow",
    "Denver",
    "Kraków",
    "Marseille",
    "Accra",
    "Vancouver",
    "Dublin",
    "Milan",
    "Tel Aviv",
    "Tehran",
)
COUNTRIES = (
    "Germany",
    "Japan",
    "Brazil",
    "Nigeria",
    "Canada",
    "India",
    "France",
    "Mexico",
    "Kenya",
    "Poland",
    "Vietnam",
    "Spain",
    "Italy",
    "Australia",
    "South Korea",
    "Egypt",
    "Turkey",
    "Portugal",
    "Norway",
    "Argentina",
    "Ghana",
    "Ireland",
)
HOTELS = (
    "the Premier Inn Leeds City Centre",
    "Ibis Styles Lyon Centre",
    "Hilton Garden Inn Austin Downtown",
    "NH Collection Madrid Eurobuilding",
    "APA Hotel Shinjuku",
    "the Radisson Blu Lagos",
    "Motel One Berlin-Mitte",
    "the Marriott Marquis Houston",
    "Taj Bengaluru",
    "the Holiday Inn Express Denver",
    "Hotel Indigo Warsaw",
    "Novotel Melbourne on Collins",
    "the Four Points Nairobi",
    "the Fairmont Vancouver",
)
AIRLINES = (
    "LH",
    "BA",
    "EK",
    "AA",
    "QR",
    "TK",
    "AF",
    "NH",
    "LA",
    "ET",
    "KL",
    "U2",
    "FR",
    "DL",
    "UA",
    "AC",
    "QF",
    "SQ",
    "IB",
    "LO",
)
SHOPS = (
    "launderette",
    "chemist",
    "Greggs",
    "barber shop",
    "dry cleaner",
    "Chinese takeaway",
    "corner shop",
    "tattoo parlour",
    "dentist",
    "bike shop",
)
PROG_LANGS = (
    "Python",
    "Rust",
    "Go",
    "TypeScript",
    "JavaScript",
    "Java",
    "Kotlin",
    "C#",
    "C++",
    "Ruby",
    "PHP",
    "Swift",
    "Haskell",
    "Elixir",
    "Scala",
    "Bash",
    "SQL",
    "R",
    "Julia",
    "Lua",
)
FRAMEWORKS = (
    "Django",
    "FastAPI",
    "Flask",
    "React",
    "Vue",
    "Svelte",
    "Next.js",
    "Spring Boot",
    "Rails",
    "Laravel",
    "Express",
    "Actix",
    "Gin",
    "Phoenix",
    "Angular",
    "pytest",
    "SQLAlchemy",
    "Terraform",
    "Kubernetes",
    "Docker Compose",
)
NAT_LANGS = (
    "French",
    "Spanish",
    "German",
    "Japanese",
    "Portuguese",
    "Italian",
    "Korean",
    "Mandarin",
    "Arabic",
    "Hindi",
    "Polish",
    "Dutch",
    "Turkish",
    "Swahili",
    "Vietnamese",
    "Greek",
)
DISHES = (
    "shakshuka",
    "jollof rice",
    "pad thai",
    "lasagne",
    "ramen",
    "chicken tikka masala",
    "paella",
    "pierogi",
    "banana bread",
    "guacamole",
    "pho",
    "moussaka",
    "falafel",
    "bibimbap",
    "risotto",
    "chili con carne",
    "tiramisu",
    "sourdough",
    "gumbo",
    "empanadas",
)
TOPICS = (
    "photosynthesis",
    "the French Revolution",
    "black holes",
    "inflation",
    "the water cycle",
    "machine learning",
    "plate tectonics",
    "the Roman Empire",
    "blockchain",
    "vaccines",
    "compound interest",
    "the Cold War",
    "quantum entanglement",
    "the Silk Road",
    "climate change",
    "the printing press",
    "DNA replication",
    "supply and demand",
    "the Ottoman Empire",
    "neural networks",
    "the Meiji Restoration",
    "jazz history",
    "game theory",
    "the Krebs cycle",
    "the Big Bang",
    "the Renaissance",
    "CRISPR",
    "monetary policy",
)
ANIMALS = (
    "octopus",
    "axolotl",
    "honeybee",
    "red panda",
    "orca",
    "tardigrade",
    "snow leopard",
    "platypus",
    "pangolin",
    "crow",
    "capybara",
    "hummingbird",
)
WORDS = (
    "correct",
    "horse",
    "battery",
    "staple",
    "purple",
    "monkey",
    "dishwasher",
    "galaxy",
    "velvet",
    "thunder",
    "pickle",
    "harbour",
    "lantern",
    "marble",
    "cactus",
    "orbit",
    "falcon",
    "meadow",
    "copper",
    "saffron",
    "tundra",
    "wizard",
    "paddle",
    "biscuit",
    "rocket",
    "juniper",
    "anchor",
    "pepper",
    "glacier",
    "mango",
    "spruce",
    "walnut",
    "ember",
    "quartz",
    "violet",
    "nimbus",
    "otter",
    "pebble",
    "tulip",
    "zephyr",
)
PARAGRAPHS = (
    "The city council voted on Tuesday to extend the tram line by four kilometres, adding six stops between the central station and the university campus. Construction is expected to begin next spring and last roughly two years, with buses replacing trams on the affected section during the works.",
    "Photosynthesis converts light energy into chemical energy. In the light-dependent reactions, water is split and oxygen is released; in the Calvin cycle, carbon dioxide is fixed into sugars using the ATP and NADPH produced earlier. The overall efficiency is low, but it sustains almost all life on Earth.",
    "Our quarterly all-hands will take place in the main auditorium. Agenda: product roadmap, hiring update, a short Q&A with the leadership team, and the announcement of the hackathon winners. Remote colleagues can join through the usual video link; the recording will be shared afterwards.",
    "The Treaty of Westphalia in 1648 ended the Thirty Years' War and is often credited with establishing the modern principle of state sovereignty. Historians debate how much it really changed at the time, but it became a symbolic starting point for the international system of independent states.",
    "To repot a houseplant, choose a pot one size larger with a drainage hole, loosen the roots gently, and place the plant at the same depth as before. Fill around it with fresh potting mix, water thoroughly, and keep it out of direct sun for a week while it recovers.",
    "The new release improves startup time by lazily importing optional dependencies, adds a progress bar to long-running exports, and fixes a bug where timezone-aware timestamps were written without their offset. Users upgrading from the previous major version should read the migration guide first.",
    "Inflation measures how quickly the general price level rises. Central banks usually target around two percent a year, raising interest rates when inflation runs hot to cool demand and lowering them when the economy is weak. The effects of a rate change take many months to show up fully.",
    "Preheat the oven to 180 degrees. Cream the butter and sugar until pale, beat in the eggs one at a time, then fold in the flour, a pinch of salt and the mashed bananas. Pour into a lined loaf tin and bake for about fifty minutes, until a skewer comes out clean.",
    "Octopuses have three hearts and blue, copper-based blood. Two hearts pump blood through the gills while the third supplies the rest of the body. They are also known for their problem-solving abilities, and some species can change both colour and skin texture in a fraction of a second.",
    "The hiking trail starts at the car park near the visitor centre, climbs steadily through pine forest for about three kilometres and then opens onto a ridge with views across the valley. Allow four hours for the round trip, carry water, and check the weather forecast before you set off.",
    "Dear customers, from next month our opening hours change: Monday to Friday 8am to 7pm, Saturday 9am to 5pm, closed on Sundays and public holidays. Online orders placed outside these hours will be processed on the next working day. Thank you for your understanding.",
    "A hash table stores key-value pairs in an array of buckets. A hash function maps each key to a bucket index; collisions are handled by chaining or open addressing. With a good hash function and a sensible load factor, lookups, inserts and deletes take constant time on average.",
)
CODE_SNIPPETS = (
    "def mean(xs):\n    return sum(xs) / len(xs)\n\nprint(mean([]))",
    "for i in range(len(items)):\n    if items[i] == target:\n        items.remove(items[i])",
    "const total = orders.map(o => o.price).reduce((a, b) => a + b);\nconsole.log(total.toFixed(2));",
    "SELECT customer_id, COUNT(*)\nFROM orders\nWHERE created_at > NOW() - INTERVAL '30 days'\nGROUP BY customer_id\nHAVING COUNT(*) > 3;",
    'func handler(w http.ResponseWriter, r *http.Request) {\n    body, _ := io.ReadAll(r.Body)\n    fmt.Fprintf(w, "%d bytes", len(body))\n}',
    'fn main() {\n    let v = vec![1, 2, 3];\n    let first = &v[0];\n    v.push(4);\n    println!("{}", first);\n}',
    "class Cache:\n    def __init__(self):\n        self.data = {}\n\n    def get(self, key, default=[]):\n        return self.data.get(key, default)",
    "#!/bin/bash\nfor f in *.log; do\n  gzip $f\ndone\nfind . -name '*.gz' -mtime +30 -delete",
    "useEffect(() => {\n  fetch('/api/items').then(r => r.json()).then(setItems);\n});",
    "import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(df.groupby('region')['revenue'].sum().sort_values())",
)
SEASONS = ("Summer", "Winter", "Spring", "Autumn", "Fall")

# ---------------------------------------------------------------------------------------
# Value helpers (checksums and formats)
# ---------------------------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits
_URLSAFE = _ALNUM + "-_"
_UPPER_DIGITS = string.ascii_uppercase + string.digits
_HEX = "0123456789abcdef"
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B64 = _ALNUM + "+/"
_FOLD = {
    "ł": "l",
    "Ł": "L",
    "ı": "i",
    "ß": "ss",
    "ø": "o",
    "Ø": "O",
    "æ": "ae",
    "đ": "d",
    "'": "",
    " ": "",
    "-": "",
}
_KNOWN_TEST_CARDS = (
    "4111111111111111",
    "4242424242424242",
    "5555555555554444",
    "378282246310005",
    "4012888888881881",
)


def ascii_fold(text: str) -> str:
    """Latin transliteration good enough for e-mail local parts and licence numbers."""
    text = "".join(_FOLD.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and not unicodedata.combining(ch))


def luhn_digit(body: str) -> str:
    """The check digit that makes `body + digit` pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def iban_from_bban(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    check = 98 - int(number) % 97
    return f"{country}{check:02d}{bban}"


_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    "A": 1,
    "B": 2,
    "C": 3,
    "D": 4,
    "E": 5,
    "F": 6,
    "G": 7,
    "H": 8,
    "J": 1,
    "K": 2,
    "L": 3,
    "M": 4,
    "N": 5,
    "P": 7,
    "R": 9,
    "S": 2,
    "T": 3,
    "U": 4,
    "V": 5,
    "W": 6,
    "X": 7,
    "Y": 8,
    "Z": 9,
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def vin_with_check(vin17: str) -> str:
    total = sum(_VIN_VALUES[ch] * w for ch, w in zip(vin17, _VIN_WEIGHTS, strict=True))
    digit = total % 11
    return vin17[:8] + ("X" if digit == 10 else str(digit)) + vin17[9:]


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def group(text: str, size: int, sep: str = " ") -> str:
    return sep.join(text[i : i + size] for i in range(0, len(text), size))


# ---------------------------------------------------------------------------------------
# Template filling: `{slot}` is replaced by `Fill.s_slot()`; a slot repeated in one
# template gets the same value, and person slots (first, last, name, email, ...) describe
# one coherent person (`...2` slots a second one).
# ---------------------------------------------------------------------------------------

_SLOT = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Person:
    culture: str
    first: str
    last: str


class Fill:
    """Value generators; one instance per filled template."""

    def __init__(self, r: Random) -> None:
        self.r = r
        self.cache: dict[str, str] = {}
        self.people: list[Person] = []

    # -- helpers -------------------------------------------------------------------------
    def pick(self, seq: Sequence[str]) -> str:
        return seq[self.r.randrange(len(seq))]

    def rs(self, alphabet: str, n: int) -> str:
        return "".join(alphabet[self.r.randrange(len(alphabet))] for _ in range(n))

    def digits(self, n: int, first_nonzero: bool = False) -> str:
        out = self.rs(string.digits, n)
        if first_nonzero and out[0] == "0":
            out = str(self.r.randint(1, 9)) + out[1:]
        return out

    def rand_bytes(self, n: int) -> bytes:
        return bytes(self.r.randrange(256) for _ in range(n))

    def render(self, template: str) -> str:
        def sub(m: re.Match[str]) -> str:
            slot = m.group(1)
            if slot not in self.cache:
                fn = getattr(self, "s_" + slot, None)
                if fn is not None:
                    self.cache[slot] = str(fn())
                elif slot in VOCAB:
                    self.cache[slot] = self.pick(VOCAB[slot])
                else:
                    raise KeyError(f"unknown slot {{{slot}}} in template: {template!r}")
            return self.cache[slot]

        return _SLOT.sub(sub, template)

    def person(self, index: int) -> Person:
        while len(self.people) <= index:
            culture = self.pick(CULTURES)
            firsts, lasts = NAMES[culture]
            self.people.append(Person(culture, self.pick(firsts), self.pick(lasts)))
        return self.people[index]

    def _email_for(self, p: Person) -> str:
        f = ascii_fold(p.first).lower()
        last = ascii_fold(p.last).lower()
        nn = str(self.r.randint(1, 99))
        yy = str(self.r.randint(60, 99) if self.r.random() < 0.6 else self.r.randint(0, 12)).zfill(
            2
        )
        local = self.pick(
            (
                f"{f}.{last}",
                f"{f}{last}",
                f"{f[0]}{last}",
                f"{f}_{last}{nn}",
                f"{f}{nn}",
                f"{last}.{f}",
                f"{f}.{last}{yy}",
                f"{f[0]}.{last}",
                f"{f}{last[0]}{yy}",
                f"{last}{f[0]}",
            )
        )
        return f"{local}@{self.pick(EMAIL_DOMAINS)}"

    def _date(self, lo: int, hi: int) -> tuple[int, int, int]:
        return self.r.randint(lo, hi), self.r.randint(1, 12), self.r.randint(1, 28)

    def _fmt_date(self, y: int, m: int, d: int) -> str:
        style = self.r.randrange(7)
        if style == 0:
            return f"{d:02d}/{m:02d}/{y}"
        if style == 1:
            return f"{y}-{m:02d}-{d:02d}"
        if style == 2:
            return f"{MONTHS[m - 1]} {d}, {y}"
        if style == 3:
            return f"{d:02d}.{m:02d}.{y}"
        if style == 4:
            return f"{m}/{d}/{str(y)[2:]}"
        if style == 5:
            return f"{d} {MONTHS[m - 1][:3]} {y}"
        return f"{d} {MONTHS[m - 1]} {y}"

    # -- people and contact ----------------------------------------------------------------
    def s_first(self) -> str:
        return self.person(0).first

    def s_last(self) -> str:
        return self.person(0).last

    def s_name(self) -> str:
        p = self.person(0)
        return f"{p.first} {p.last}"

    def s_first2(self) -> str:
        return self.person(1).first

    def s_last2(self) -> str:
        return self.person(1).last

    def s_name2(self) -> str:
        p = self.person(1)
        return f"{p.first} {p.last}"

    def s_name3(self) -> str:
        p = self.person(2)
        return f"{p.first} {p.last}"

    def s_email(self) -> str:
        return self._email_for(self.person(0))

    def s_email2(self) -> str:
        return self._email_for(self.person(1))

    def s_work_email(self) -> str:
        p = self.person(0)
        return (
            f"{ascii_fold(p.first).lower()}.{ascii_fold(p.last).lower()}@{self.s_company_domain()}"
        )

    def s_company(self) -> str:
        return self._company()[0]

    def s_company_domain(self) -> str:
        return self._company()[1]

    def _company(self) -> tuple[str, str]:
        if "_company" not in self.cache:
            name, domain = COMPANIES[self.r.randrange(len(COMPANIES))]
            self.cache["_company"] = name
            self.cache["_company_domain"] = domain
        return self.cache["_company"], self.cache["_company_domain"]

    def s_company2(self) -> str:
        return COMPANIES[self.r.randrange(len(COMPANIES))][0]

    def s_relative(self) -> str:
        return self.pick(RELATIVES)

    def s_other(self) -> str:
        return self.pick(OTHERS)

    def s_phone(self) -> str:
        r = self.r
        style = r.randrange(13)
        d = self.digits

        def nxx() -> str:
            while True:
                v = f"{r.randint(2, 9)}{d(2)}"
                if v != "555" and v[1:] != "11":
                    return v

        if style == 0:
            return f"({nxx()}) {nxx()}-{d(4)}"
        if style == 1:
            return f"+1{nxx()}{nxx()}{d(4)}"
        if style == 2:
            return f"{nxx()}-{nxx()}-{d(4)}"
        if style == 3:
            return f"07{r.randint(4, 9)}{d(2)} {d(6)}"
        if style == 4:
            return f"+44 7{r.randint(4, 9)}{d(2)} {d(6)}"
        if style == 5:
            return f"+49 15{r.randint(1, 9)} {d(8)}"
        if style == 6:
            return f"0{r.choice('67')} {d(2)} {d(2)} {d(2)} {d(2)}"
        if style == 7:
            return f"+33 {r.choice('67')} {d(2)} {d(2)} {d(2)} {d(2)}"
        if style == 8:
            return f"+91 {r.randint(7, 9)}{d(4)} {d(5)}"
        if style == 9:
            return f"+55 {r.choice(('11', '21', '31', '41'))} 9{d(4)}-{d(4)}"
        if style == 10:
            return f"0{r.choice('789')}0-{d(4)}-{d(4)}"
        if style == 11:
            return r.choice((f"04{d(2)} {d(3)} {d(3)}", f"+61 4{d(2)} {d(3)} {d(3)}"))
        return r.choice(
            (
                f"+234 80{r.randint(2, 9)} {d(3)} {d(4)}",
                f"+34 6{d(2)} {d(3)} {d(3)}",
                f"+52 55 {d(4)} {d(4)}",
                f"+254 7{d(2)} {d(6)}",
                f"+82 10-{d(4)}-{d(4)}",
                f"+48 {r.randint(5, 8)}{d(2)} {d(3)} {d(3)}",
                f"+90 5{d(2)} {d(3)} {d(2)} {d(2)}",
            )
        )

    def s_phone2(self) -> str:
        return Fill(self.r).s_phone()

    def s_last4(self) -> str:
        return self.digits(4)

    # -- dates and numbers -----------------------------------------------------------------
    def s_dob(self) -> str:
        return self._fmt_date(*self._date(1940, 2008))

    def s_date(self) -> str:
        return self._fmt_date(*self._date(2023, 2026))

    def s_month(self) -> str:
        return self.pick(MONTHS)

    def s_weekday(self) -> str:
        return self.pick(WEEKDAYS)

    def s_year(self) -> str:
        return str(self.r.randint(1955, 2010))

    def s_age(self) -> str:
        return str(self.r.randint(3, 88))

    def s_time(self) -> str:
        return f"{self.r.randint(0, 23):02d}:{self.r.randint(0, 59):02d}"

    def s_n(self) -> str:
        return str(self.r.randint(2, 60))

    def s_n2(self) -> str:
        return str(self.r.randint(2, 999))

    def s_big(self) -> str:
        return str(self.r.randint(1000, 999999))

    def s_pct(self) -> str:
        return f"{self.r.randint(1, 9)}.{self.r.randint(0, 99):02d}"

    def s_lb(self) -> str:
        return "{"

    def s_rb(self) -> str:
        return "}"

    # -- identification --------------------------------------------------------------------
    def s_ssn(self) -> str:
        while True:
            area = self.r.randint(1, 899)
            if area != 666:
                break
        sep = self.pick(("-", "-", "-", " ", ""))
        return f"{area:03d}{sep}{self.r.randint(1, 99):02d}{sep}{self.r.randint(1, 9999):04d}"

    def s_nino(self) -> str:
        first = self.rs("ABCEGHJKLMNPRSTWXYZ", 1)
        second = self.rs("ABCEGHJKLMNPRSTWXYZ", 1)
        return f"{first}{second} {self.digits(2)} {self.digits(2)} {self.digits(2)} {self.rs('ABCD', 1)}"

    def s_sin(self) -> str:
        body = str(self.r.choice((1, 2, 3, 4, 5, 6, 7, 9))) + self.digits(7)
        full = body + luhn_digit(body)
        return f"{full[:3]} {full[3:6]} {full[6:]}"

    def s_aadhaar(self) -> str:
        return f"{self.r.randint(2, 9)}{self.digits(3)} {self.digits(4)} {self.digits(4)}"

    def s_pan(self) -> str:
        return (
            self.rs(string.ascii_uppercase, 3)
            + "P"
            + self.rs(string.ascii_uppercase, 1)
            + self.digits(4)
            + self.rs(string.ascii_uppercase, 1)
        )

    def s_dni(self) -> str:
        n = self.r.randint(10_000_000, 99_999_999)
        return f"{n}{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}"

    def s_cpf(self) -> str:
        ds = [self.r.randint(0, 9) for _ in range(9)]
        for length in (9, 10):
            total = sum(d * (length + 1 - i) for i, d in enumerate(ds[:length]))
            rem = total % 11
            ds.append(0 if rem < 2 else 11 - rem)
        s = "".join(map(str, ds))
        return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"

    def s_nhs(self) -> str:
        while True:
            ds = [self.r.randint(0, 9) for _ in range(9)]
            check = 11 - sum(d * (10 - i) for i, d in enumerate(ds)) % 11
            if check == 10:
                continue
            s = "".join(map(str, ds)) + str(0 if check == 11 else check)
            return f"{s[:3]} {s[3:6]} {s[6:]}"

    def s_national_id(self) -> str:
        style = self.r.randrange(9)
        if style == 0:
            return f"SSN {self.s_ssn()}"
        if style == 1:
            return f"National Insurance number {self.s_nino()}"
        if style == 2:
            return f"SIN {self.s_sin()}"
        if style == 3:
            return f"Aadhaar {self.s_aadhaar()}"
        if style == 4:
            return f"DNI {self.s_dni()}"
        if style == 5:
            return f"CPF {self.s_cpf()}"
        if style == 6:
            return f"Steuer-ID {self.digits(11, True)}"
        if style == 7:
            return f"PESEL {self.digits(2)}{self.r.randint(1, 12):02d}{self.r.randint(1, 28):02d}{self.digits(5)}"
        return f"BSN {self.digits(9, True)}"

    def s_passport(self) -> str:
        style = self.r.randrange(7)
        if style == 0:
            return self.digits(9, True)
        if style == 1:
            return self.rs("ACEFGHJKLMNPRTXZ", 1) + self.digits(8)
        if style == 2:
            return self.rs("CFGHJK", 1) + self.rs("CFGHJKLMNPRTVWXYZ0123456789", 8)
        if style == 3:
            return self.rs("JKLMNPRSTUVWZ", 1) + self.digits(7)
        if style == 4:
            return f"{self.digits(2)}{self.rs(string.ascii_uppercase, 2)}{self.digits(5)}"
        if style == 5:
            return "E" + self.digits(8)
        return self.rs(string.ascii_uppercase, 2) + self.digits(7)

    def s_visa_no(self) -> str:
        return self.pick(
            (
                self.digits(8, True),
                f"{self.rs(string.ascii_uppercase, 3)}{self.digits(9)}",
                f"H{self.digits(7)}",
            )
        )

    def s_licence(self) -> str:
        style = self.r.randrange(7)
        if style == 0:
            return self.rs(string.ascii_uppercase, 1) + self.digits(7)
        if style == 1:
            return f"{self.digits(3)} {self.digits(3)} {self.digits(3)}"
        if style == 2:
            return f"{self.rs(string.ascii_uppercase, 1)}{self.digits(3)}-{self.digits(3)}-{self.digits(2)}-{self.digits(3)}-{self.digits(1)}"
        if style == 3:
            return self.digits(8, True)
        if style == 4:
            return self.rs(string.ascii_uppercase, 1) + self.digits(11)
        if style == 5:
            return self.s_uk_licence()
        return f"B{self.digits(2)}{self.rs(_UPPER_DIGITS, 6)}{self.digits(1)}"

    def s_uk_licence(self) -> str:
        p = self.person(0)
        sur = re.sub(r"[^A-Z]", "", ascii_fold(p.last).upper())[:5].ljust(5, "9")
        y, m, d = self._date(1950, 2005)
        if self.r.random() < 0.5:
            m += 50
        initials = ascii_fold(p.first)[:1].upper() + self.rs(string.ascii_uppercase + "9", 1)
        return f"{sur}{str(y)[2]}{m:02d}{d:02d}{str(y)[3]}{initials}9{self.rs(string.ascii_uppercase, 2)}"

    def s_ein(self) -> str:
        return f"{self.r.randint(10, 98)}-{self.digits(7)}"

    def s_itin(self) -> str:
        return f"9{self.digits(2)}-{self.r.choice((70, 78, 88, 91, 94))}-{self.digits(4)}"

    def s_vat(self) -> str:
        return self.pick(
            (
                f"GB{self.digits(9)}",
                f"DE{self.digits(9, True)}",
                f"FR{self.digits(2)}{self.digits(9)}",
                f"IT{self.digits(11)}",
                f"NL{self.digits(9)}B{self.digits(2)}",
                f"ESB{self.digits(8)}",
                f"PL{self.digits(10)}",
                f"IE{self.digits(7)}{self.rs(string.ascii_uppercase, 1)}",
            )
        )

    def s_tax_id(self) -> str:
        style = self.r.randrange(5)
        if style == 0:
            return f"EIN {self.s_ein()}"
        if style == 1:
            return f"ITIN {self.s_itin()}"
        if style == 2:
            return f"VAT {self.s_vat()}"
        if style == 3:
            return f"UTR {self.digits(5)} {self.digits(5)}"
        return f"PAN {self.s_pan()}"

    def s_employee_id(self) -> str:
        return self.pick(
            (
                f"E-{self.digits(5)}",
                f"EMP{self.digits(6)}",
                f"{self.rs(string.ascii_uppercase, 2)}-{self.digits(5)}",
                f"{self.digits(7)}",
                f"W{self.digits(6)}",
                f"{self.rs(string.ascii_uppercase, 3)}{self.digits(4)}",
            )
        )

    def s_badge(self) -> str:
        return self.pick(
            (
                f"B{self.digits(4)}",
                f"{self.rs(string.ascii_uppercase, 2)}-{self.digits(5)}",
                f"#{self.digits(6)}",
                f"BDG-{self.digits(4)}-{self.rs(string.ascii_uppercase, 1)}",
            )
        )

    def s_student_id(self) -> str:
        return self.pick(
            (
                f"S{self.r.randint(2015, 2025)}-{self.digits(5)}",
                f"u{self.digits(7)}",
                f"{self.digits(8, True)}",
                f"{self.rs(string.ascii_lowercase, 3)}{self.digits(3)}",
                f"A0{self.digits(7)}",
            )
        )

    # -- financial -------------------------------------------------------------------------
    def s_card(self) -> str:
        r = self.r
        while True:
            network = r.randrange(8)
            if network == 0:
                body, length = "4" + self.digits(5), 16
            elif network == 1:
                body, length = str(r.randint(51, 55)) + self.digits(4), 16
            elif network == 2:
                body, length = str(r.randint(2221, 2720)) + self.digits(2), 16
            elif network == 3:
                body, length = r.choice(("34", "37")) + self.digits(4), 15
            elif network == 4:
                body, length = "6011" + self.digits(2), 16
            elif network == 5:
                body, length = str(r.randint(3528, 3589)) + self.digits(2), 16
            elif network == 6:
                body, length = "62" + self.digits(4), r.choice((16, 19))
            else:
                body, length = "4" + self.digits(5), 16
            body += self.digits(length - 1 - len(body))
            number = body + luhn_digit(body)
            if number not in _KNOWN_TEST_CARDS:
                break
        style = r.randrange(4)
        if style == 3 or length == 19:
            return number
        if length == 15:
            sep = r.choice((" ", "-", " "))
            return f"{number[:4]}{sep}{number[4:10]}{sep}{number[10:]}"
        return group(number, 4, r.choice((" ", " ", "-")))

    def s_cvv(self) -> str:
        return self.digits(3)

    def s_expiry(self) -> str:
        return f"{self.r.randint(1, 12):02d}/{self.r.randint(26, 31)}"

    def s_iban(self) -> str:
        r = self.r
        country = r.choice(
            ("DE", "GB", "FR", "ES", "IT", "NL", "BE", "CH", "PL", "AT", "IE", "PT", "SE")
        )
        if country == "DE":
            bban = self.digits(18)
        elif country == "GB":
            bban = r.choice(("BARC", "HSBC", "LOYD", "NWBK", "MIDL", "MONZ")) + self.digits(14)
        elif country == "FR":
            bban = self.digits(23)
        elif country == "ES":
            bban = self.digits(20)
        elif country == "IT":
            bban = self.rs(string.ascii_uppercase, 1) + self.digits(22)
        elif country == "NL":
            bban = r.choice(("ABNA", "INGB", "RABO", "SNSB", "TRIO")) + self.digits(10)
        elif country == "BE":
            bban = self.digits(12)
        elif country == "CH":
            bban = self.digits(17)
        elif country == "PL":
            bban = self.digits(24)
        elif country == "AT":
            bban = self.digits(16)
        elif country == "IE":
            bban = r.choice(("AIBK", "BOFI", "IPBS")) + self.digits(14)
        elif country == "PT":
            bban = self.digits(21)
        else:
            bban = self.digits(20)
        iban = iban_from_bban(country, bban)
        return group(iban, 4) if r.random() < 0.6 else iban

    def s_routing(self) -> str:
        ds = [
            int(c)
            for c in f"{self.r.choice((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 21, 22, 26, 31)):02d}{self.digits(6)}"
        ]
        partial = 3 * (ds[0] + ds[3] + ds[6]) + 7 * (ds[1] + ds[4] + ds[7]) + (ds[2] + ds[5])
        return "".join(map(str, ds)) + str((-partial) % 10)

    def s_account_no(self) -> str:
        return self.digits(self.r.randint(8, 12), True)

    def s_sort_code(self) -> str:
        return f"{self.digits(2)}-{self.digits(2)}-{self.digits(2)}"

    def s_uk_account(self) -> str:
        return self.digits(8)

    def _money(self, lo: int, hi: int) -> str:
        amount = self.r.randint(lo, hi)
        style = self.r.randrange(6)
        if style == 0:
            return f"${amount:,}"
        if style == 1:
            return f"£{amount:,}"
        if style == 2:
            return f"€{amount:,}".replace(",", ".")
        if style == 3:
            return f"{amount:,} EUR"
        if style == 4:
            return f"₹{amount:,}"
        return f"{amount} USD"

    def s_amount(self) -> str:
        return self._money(40, 9000)

    def s_salary(self) -> str:
        if self.r.random() < 0.3:
            return f"{self.pick(('$', '£', '€'))}{self.r.randint(24, 240)}k"
        return self._money(24000, 240000)

    def s_balance(self) -> str:
        return self._money(-4000, 85000) if self.r.random() < 0.2 else self._money(12, 85000)

    def s_debt(self) -> str:
        return self._money(900, 60000)

    def s_order_no(self) -> str:
        return self.pick(
            (
                f"{self.digits(3)}-{self.digits(7)}-{self.digits(7)}",
                f"#{self.digits(6, True)}",
                f"ORD-{self.digits(8)}",
                f"{self.rs(_UPPER_DIGITS, 10)}",
                f"W{self.digits(9)}",
            )
        )

    def s_loan_no(self) -> str:
        return self.pick(
            (
                f"{self.digits(10, True)}",
                f"ML-{self.digits(4)}-{self.digits(6)}",
                f"LN{self.digits(8)}",
            )
        )

    def s_rate(self) -> str:
        return f"{self.r.randint(2, 9)}.{self.r.choice(('1', '25', '49', '75', '8', '99', '05'))}%"

    def s_bank(self) -> str:
        return self.pick(BANKS)

    def s_credit_score(self) -> str:
        return str(self.r.randint(480, 820))

    # -- authentication --------------------------------------------------------------------
    def s_password(self) -> str:
        r = self.r
        style = r.randrange(9)
        sym = self.rs("!@#$%&*?._-+=", 1)
        if style == 0:
            return f"{self.pick(WORDS).capitalize()}{r.randint(1950, 2025)}{sym}"
        if style == 1:
            leet = str.maketrans({"a": "4", "e": "3", "o": "0", "i": "1", "s": "$"})
            return f"{self.pick(WORDS).capitalize().translate(leet)}{sym}{self.pick(WORDS).translate(leet)}{r.randint(0, 99)}"
        if style == 2:
            return self.rs(_ALNUM + "!@#$%^&*", r.randint(10, 20))
        if style == 3:
            return r.choice(("-", ".", "_", "")).join(
                self.pick(WORDS).capitalize() for _ in range(r.randint(3, 4))
            ) + str(r.randint(1, 99))
        if style == 4:
            return f"{ascii_fold(self.person(0).first).lower()}{r.randint(1, 28):02d}{r.randint(1, 12):02d}"
        if style == 5:
            return f"{self.pick(SEASONS)}{r.randint(2019, 2026)}{sym}"
        if style == 6:
            return f"{self.pick(PETS)}{sym}{r.randint(100, 9999)}"
        if style == 7:
            return self.rs(string.ascii_lowercase, r.randint(5, 8)) + self.digits(r.randint(2, 4))
        return f"{self.pick(WORDS)}{sym}{self.pick(WORDS).upper()}{sym}{self.digits(2)}"

    def s_password2(self) -> str:
        return Fill(self.r).s_password()

    def s_passphrase(self) -> str:
        sep = self.pick((" ", "-", ".", "_"))
        return sep.join(self.pick(WORDS) for _ in range(self.r.randint(4, 6)))

    def s_pin(self) -> str:
        return self.digits(self.r.choice((4, 4, 4, 6)))

    def s_pet(self) -> str:
        return self.pick(PETS)

    def s_openai_key(self) -> str:
        if self.r.random() < 0.25:
            return f"sk-{self.rs(_ALNUM, 20)}T3BlbkFJ{self.rs(_ALNUM, 20)}"
        return f"sk-proj-{self.rs(_URLSAFE, self.r.randint(56, 120))}"

    def s_anthropic_key(self) -> str:
        return f"sk-ant-api03-{self.rs(_URLSAFE, 93)}AA"

    def s_aws_key(self) -> str:
        return self.pick(("AKIA", "AKIA", "ASIA")) + self.rs(_B32, 16)

    def s_aws_secret(self) -> str:
        return self.rs(_B64, 40)

    def s_github_token(self) -> str:
        if self.r.random() < 0.3:
            return f"github_pat_11{self.rs(_UPPER_DIGITS, 20)}_{self.rs(_ALNUM, 59)}"
        return f"{self.pick(('ghp_', 'ghp_', 'gho_', 'ghs_'))}{self.rs(_ALNUM, 36)}"

    def s_gitlab_token(self) -> str:
        return f"glpat-{self.rs(_URLSAFE, 20)}"

    def s_slack_token(self) -> str:
        return f"{self.pick(('xoxb', 'xoxp', 'xoxb'))}-{self.digits(12, True)}-{self.digits(13, True)}-{self.rs(_ALNUM, 24)}"

    def s_stripe_key(self) -> str:
        return f"{self.pick(('sk_live_', 'sk_live_', 'rk_live_'))}{self.rs(_ALNUM, self.r.choice((24, 34, 99)))}"

    def s_google_key(self) -> str:
        return f"AIza{self.rs(_URLSAFE, 35)}"

    def s_jwt(self) -> str:
        header = b64url(
            json.dumps(
                {"alg": self.pick(("HS256", "RS256")), "typ": "JWT"}, separators=(",", ":")
            ).encode()
        )
        payload = {
            "sub": self.digits(8, True),
            "name": self.s_name(),
            "iat": 1700000000 + self.r.randint(0, 60_000_000),
        }
        if self.r.random() < 0.5:
            payload["email"] = self.s_email()
        body = b64url(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{header}.{body}.{b64url(self.rand_bytes(32))}"

    def s_hex_secret(self) -> str:
        return self.rs(_HEX, self.r.choice((32, 40, 64)))

    def s_b64_secret(self) -> str:
        return base64.b64encode(self.rand_bytes(self.r.choice((24, 32, 48)))).decode("ascii")

    def s_apikey(self) -> str:
        style = self.r.randrange(16)
        makers: tuple[Callable[[], str], ...] = (
            self.s_openai_key,
            self.s_anthropic_key,
            self.s_aws_key,
            self.s_github_token,
            self.s_gitlab_token,
            self.s_slack_token,
            self.s_stripe_key,
            self.s_google_key,
            self.s_jwt,
            self.s_hex_secret,
            lambda: f"hf_{self.rs(string.ascii_letters, 34)}",
            lambda: f"SG.{self.rs(_URLSAFE, 22)}.{self.rs(_URLSAFE, 43)}",
            lambda: f"npm_{self.rs(_ALNUM, 36)}",
            lambda: f"dop_v1_{self.rs(_HEX, 64)}",
            lambda: f"key-{self.rs(_HEX, 32)}",
            self.s_b64_secret,
        )
        return makers[style]()

    def s_secret_line(self) -> str:
        """A secret assignment in one of many config dialects."""
        r = self.r
        var, val = r.choice(
            (
                ("DB_PASSWORD", self.s_password),
                ("POSTGRES_PASSWORD", self.s_password),
                ("OPENAI_API_KEY", self.s_openai_key),
                ("ANTHROPIC_API_KEY", self.s_anthropic_key),
                ("AWS_SECRET_ACCESS_KEY", self.s_aws_secret),
                ("STRIPE_SECRET_KEY", self.s_stripe_key),
                ("GITHUB_TOKEN", self.s_github_token),
                ("SLACK_BOT_TOKEN", self.s_slack_token),
                ("JWT_SECRET", self.s_hex_secret),
                ("SECRET_KEY", self.s_b64_secret),
                ("REDIS_PASSWORD", self.s_password),
                ("SMTP_PASSWORD", self.s_password),
                ("MYSQL_ROOT_PASSWORD", self.s_password),
                ("API_TOKEN", self.s_hex_secret),
                ("DJANGO_SECRET_KEY", lambda: self.rs(_ALNUM + "!@#$%^&*(-_=+)", 50)),
                ("GOOGLE_API_KEY", self.s_google_key),
                ("GITLAB_TOKEN", self.s_gitlab_token),
                ("ADMIN_PASSWORD", self.s_password),
            )
        )
        value = val()
        key = var.lower()
        style = r.randrange(12)
        if style == 0:
            return f"export {var}={value}"
        if style == 1:
            return f"{var}={value}"
        if style == 2:
            return f'{var}="{value}"'
        if style == 3:
            return f"{key.replace('_', '.', 1) if '.' in key else key}: {value}"
        if style == 4:
            return f'{{"{key}": "{value}"}}'
        if style == 5:
            return f'{key} = "{value}"'
        if style == 6:
            return f"--{key.replace('_', '-')}={value}"
        if style == 7:
            return f"docker run -e {var}={value} app:latest"
        if style == 8:
            return f"kubectl create secret generic app-secrets --from-literal={key}={value}"
        if style == 9:
            return f'os.environ["{var}"] = "{value}"'
        if style == 10:
            return f"[credentials]\n{key} = {value}"
        return f'$env:{var} = "{value}"'

    def s_db_user(self) -> str:
        return self.pick(
            (
                "admin",
                "postgres",
                "root",
                "app",
                "svc_billing",
                "readonly",
                ascii_fold(self.person(0).first).lower(),
                "deploy",
                "etl_user",
            )
        )

    def s_host(self) -> str:
        return self.pick(
            (
                f"db.internal.{self.s_company_domain()}",
                f"prod-db-{self.r.randint(1, 4)}.c{self.rs(string.ascii_lowercase + string.digits, 10)}.eu-west-1.rds.amazonaws.com",
                f"10.{self.r.randint(0, 255)}.{self.r.randint(0, 255)}.{self.r.randint(1, 254)}",
                "pg-main.prod.svc.cluster.local",
                f"{self.rs(string.ascii_lowercase, 6)}.postgres.database.azure.com",
                f"mysql-{self.digits(3)}.hosting-{self.rs(string.ascii_lowercase, 4)}.net",
            )
        )

    def s_conn_string(self) -> str:
        r = self.r
        user, pw, host = self.s_db_user(), self.s_password(), self.s_host()
        db = self.pick(("app", "billing", "crm", "orders", "prod", "analytics", "users"))
        style = r.randrange(8)
        if style == 0:
            return f"postgresql://{user}:{pw}@{host}:5432/{db}"
        if style == 1:
            return f"mysql://{user}:{pw}@{host}:3306/{db}"
        if style == 2:
            return f"mongodb+srv://{user}:{pw}@cluster0.{self.rs(string.ascii_lowercase + string.digits, 5)}.mongodb.net/{db}?retryWrites=true&w=majority"
        if style == 3:
            return f"redis://default:{pw}@{host}:6379/0"
        if style == 4:
            return (
                f"Server=tcp:{host},1433;Database={db};User ID={user};Password={pw};Encrypt=true;"
            )
        if style == 5:
            return f"amqp://{user}:{pw}@{host}:5672/%2F"
        if style == 6:
            return f"jdbc:postgresql://{host}:5432/{db}?user={user}&password={pw}"
        return f"smtp://{user}%40{self.s_company_domain()}:{pw}@smtp.{self.s_company_domain()}:587"

    def s_cookie(self) -> str:
        return self.pick(
            (
                f"sessionid={self.rs(string.ascii_lowercase + string.digits, 32)}; csrftoken={self.rs(_ALNUM, 64)}",
                f"connect.sid=s%3A{self.rs(_URLSAFE, 32)}.{self.rs(_ALNUM, 43)}",
                f"_session_id={self.rs(_HEX, 32)}; remember_user_token={self.rs(_URLSAFE, 60)}",
                f"PHPSESSID={self.rs(string.ascii_lowercase + string.digits, 26)}",
                f"__Secure-next-auth.session-token={self.s_jwt()}",
                f"JSESSIONID={self.rs(_HEX.upper(), 32)}; AWSALB={self.rs(_B64, 80)}",
            )
        )

    def s_security_answer(self) -> str:
        return self.pick(
            (
                self.pick(PETS),
                f"{self.s_last2()}",
                self.pick(STREET_NAMES_EN) + " Street",
                self.pick(CITIES),
                f"Mrs {self.s_last2()}",
                self.pick(CAR_MODELS),
                self.pick(DISHES),
            )
        )

    def s_security_question(self) -> str:
        return self.pick(
            (
                "mother's maiden name",
                "first pet's name",
                "street I grew up on",
                "city where my parents met",
                "first car",
                "favourite teacher",
                "childhood best friend",
                "favourite food as a kid",
            )
        )

    def s_private_key(self) -> str:
        kind = self.r.randrange(3)
        lines = [
            base64.b64encode(self.rand_bytes(48)).decode("ascii")
            for _ in range(self.r.randint(3, 6))
        ]
        if kind == 0:
            lines[0] = (
                "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
                + lines[0][:8]
            )
            return (
                "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                + "\n".join(lines)
                + "\n-----END OPENSSH PRIVATE KEY-----"
            )
        if kind == 1:
            lines[0] = "MIIEpAIBAAKCAQEA" + lines[0][:48]
            return (
                "-----BEGIN RSA PRIVATE KEY-----\n"
                + "\n".join(lines)
                + "\n-----END RSA PRIVATE KEY-----"
            )
        lines[0] = "MHcCAQEEI" + lines[0][:55]
        return (
            "-----BEGIN EC PRIVATE KEY-----\n"
            + "\n".join(lines[:3])
            + "\n-----END EC PRIVATE KEY-----"
        )

    def s_backup_codes(self) -> str:
        n = self.r.randint(4, 10)
        style = self.r.randrange(3)
        if style == 0:
            codes = [f"{self.digits(4)} {self.digits(4)}" for _ in range(n)]
        elif style == 1:
            codes = [
                f"{self.rs(string.ascii_lowercase + string.digits, 4)}-{self.rs(string.ascii_lowercase + string.digits, 4)}"
                for _ in range(n)
            ]
        else:
            codes = [self.digits(8) for _ in range(n)]
        return self.pick(("\n", ", ", " ", "\n- ")).join(codes)

    def s_totp_secret(self) -> str:
        raw = self.rs(_B32, self.r.choice((16, 32)))
        return group(raw.lower(), 4) if self.r.random() < 0.5 else raw

    def s_service(self) -> str:
        return self.pick(SERVICES)

    def s_username(self) -> str:
        p = self.person(0)
        f, last = ascii_fold(p.first).lower(), ascii_fold(p.last).lower()
        return self.pick(
            (
                f"{f}.{last}",
                f"{f[0]}{last}{self.r.randint(1, 99)}",
                f"{f}_{last[:3]}",
                f"{last}{f[0]}",
                f"{f}{self.r.randint(1970, 2010)}",
                f"{self.pick(WORDS)}_{f}",
                f"{f}-{self.pick(WORDS)}{self.r.randint(1, 9)}",
            )
        )

    # -- health ----------------------------------------------------------------------------
    def s_condition(self) -> str:
        return self.pick(CONDITIONS)

    def s_med(self) -> str:
        return self.pick(MEDS)

    def s_med_name(self) -> str:
        return self.pick(MED_NAMES)

    def s_symptom(self) -> str:
        return self.pick(SYMPTOMS)

    def s_lab(self) -> str:
        r = self.r
        name, lo, hi, unit, dp = r.choice(
            (
                ("HbA1c", 5.0, 12.5, "%", 1),
                ("LDL", 70, 240, "mg/dL", 0),
                ("PSA", 0.5, 14.0, "ng/mL", 1),
                ("TSH", 0.1, 18.0, "mIU/L", 1),
                ("eGFR", 18, 110, "mL/min", 0),
                ("ferritin", 3, 600, "ng/mL", 0),
                ("fasting glucose", 70, 260, "mg/dL", 0),
                ("vitamin D", 6, 80, "ng/mL", 0),
                ("ALT", 8, 220, "U/L", 0),
                ("hemoglobin", 7.0, 17.5, "g/dL", 1),
                ("CD4 count", 150, 1200, "cells/mm3", 0),
                ("creatinine", 0.5, 3.8, "mg/dL", 2),
                ("cholesterol", 3.2, 8.9, "mmol/L", 1),
                ("testosterone", 120, 950, "ng/dL", 0),
                ("white cell count", 2.1, 19.0, "x10^9/L", 1),
            )
        )
        value = r.uniform(lo, hi)
        shown = f"{value:.{dp}f}" if dp else str(int(value))
        return f"{name} {shown} {unit}".replace(" %", "%")

    def s_bp(self) -> str:
        return f"{self.r.randint(95, 185)}/{self.r.randint(58, 118)}"

    def s_weight(self) -> str:
        return self.pick(
            (
                f"{self.r.randint(45, 160)} kg",
                f"{self.r.randint(100, 340)} lbs",
                f"{self.r.randint(7, 24)} stone {self.r.randint(0, 13)}",
            )
        )

    def s_height(self) -> str:
        return self.pick(
            (f"{self.r.randint(148, 205)} cm", f"{self.r.randint(4, 6)}'{self.r.randint(0, 11)}\"")
        )

    def s_heart_rate(self) -> str:
        return str(self.r.randint(42, 160))

    def s_insurer(self) -> str:
        return self.pick(INSURERS)

    def s_member_id(self) -> str:
        return self.pick(
            (
                f"W{self.digits(9)}",
                f"{self.rs(string.ascii_uppercase, 3)}{self.digits(9)}",
                f"MBR-{self.digits(4)}-{self.digits(4)}-{self.digits(2)}",
                f"U{self.digits(4)} {self.digits(5)} {self.digits(2)}",
                f"{self.rs(string.ascii_uppercase, 1)}{self.digits(9)}0{self.digits(1)}",
                f"{self.digits(3)}-{self.digits(3)}-{self.digits(3)}-{self.rs(string.ascii_uppercase, 2)}",
            )
        )

    def s_mrn(self) -> str:
        return self.pick(
            (
                f"MRN {self.digits(8)}",
                f"MRN: {self.digits(7, True)}",
                f"patient ID {self.rs(string.ascii_uppercase, 2)}{self.digits(6)}",
                f"hospital number {self.rs(string.ascii_uppercase, 1)}{self.digits(7)}",
            )
        )

    def s_doctor(self) -> str:
        return "Dr. " + self.pick(NAMES[self.pick(CULTURES)][1])

    def s_hospital(self) -> str:
        return self.pick(HOSPITALS)

    # -- location and network --------------------------------------------------------------
    def s_street(self) -> str:
        return self.pick(STREET_NAMES_EN)

    def s_landmark(self) -> str:
        return self.pick(LANDMARKS)

    def s_colour(self) -> str:
        return self.pick(COLOURS)

    def s_shop(self) -> str:
        return self.pick(SHOPS)

    def s_city(self) -> str:
        return self.pick(CITIES)

    def s_country(self) -> str:
        return self.pick(COUNTRIES)

    def s_address(self) -> str:
        r = self.r
        d = self.digits
        up = string.ascii_uppercase
        style = r.randrange(15)
        if style == 0:
            city, st, z = r.choice(
                (
                    ("Columbus", "OH", "432"),
                    ("Austin", "TX", "787"),
                    ("Portland", "OR", "972"),
                    ("Denver", "CO", "802"),
                    ("Atlanta", "GA", "303"),
                    ("Brooklyn", "NY", "112"),
                    ("San Jose", "CA", "951"),
                    ("Chicago", "IL", "606"),
                    ("Phoenix", "AZ", "850"),
                    ("Raleigh", "NC", "276"),
                    ("Seattle", "WA", "981"),
                    ("Minneapolis", "MN", "554"),
                )
            )
            apt = r.choice(
                ("", f", Apt {r.randint(1, 30)}{r.choice('ABCD')}", f" #{r.randint(100, 999)}", "")
            )
            kind = r.choice(("St", "Ave", "Dr", "Rd", "Blvd", "Ln", "Ct", "Way"))
            return f"{r.randint(10, 9999)} {self.s_street()} {r.choice(('', 'Ridge ', 'Creek ', 'Hill '))}{kind}{apt}, {city}, {st} {z}{d(2)}"
        if style == 1:
            city, area = r.choice(
                (
                    ("Leeds", "LS"),
                    ("Manchester", "M"),
                    ("Bristol", "BS"),
                    ("Glasgow", "G"),
                    ("Birmingham", "B"),
                    ("London", "SE"),
                    ("London", "N"),
                    ("Cardiff", "CF"),
                    ("Edinburgh", "EH"),
                    ("Sheffield", "S"),
                )
            )
            flat = r.choice(("", f"Flat {r.randint(1, 12)}, ", ""))
            return f"{flat}{r.randint(1, 220)} {self.s_street()} {r.choice(('Road', 'Street', 'Lane', 'Close', 'Gardens', 'Avenue'))}, {city} {area}{r.randint(1, 28)} {r.randint(1, 9)}{self.rs('ABDEFGHJLNPQRSTUWXYZ', 2)}"
        if style == 2:
            city, z = r.choice(
                (
                    ("Berlin", "10"),
                    ("Hamburg", "22"),
                    ("München", "80"),
                    ("Köln", "50"),
                    ("Frankfurt am Main", "60"),
                    ("Leipzig", "04"),
                    ("Stuttgart", "70"),
                )
            )
            street = r.choice(
                (
                    "Lindenstraße",
                    "Hauptstraße",
                    "Schillerstraße",
                    "Goethestraße",
                    "Bahnhofstraße",
                    "Gartenweg",
                    "Am Mühlbach",
                    "Kastanienallee",
                )
            )
            return f"{street} {r.randint(1, 140)}{r.choice(('', 'a', 'b', ''))}, {z}{d(3)} {city}"
        if style == 3:
            city, z = r.choice(
                (
                    ("Paris", "750"),
                    ("Lyon", "6900"),
                    ("Marseille", "130"),
                    ("Toulouse", "310"),
                    ("Lille", "590"),
                    ("Nantes", "440"),
                )
            )
            street = r.choice(
                (
                    "rue des Lilas",
                    "avenue Jean Jaurès",
                    "rue de la République",
                    "boulevard Voltaire",
                    "rue Victor Hugo",
                    "allée des Tilleuls",
                )
            )
            return f"{r.randint(1, 180)} {street}, {z}{d(5 - len(z))} {city}"
        if style == 4:
            street = r.choice(
                (
                    "Calle Mayor",
                    "Calle de Alcalá",
                    "Avenida de la Constitución",
                    "Calle Real",
                    "Paseo de Gracia",
                )
            )
            city = r.choice(
                (
                    "28013 Madrid",
                    "08007 Barcelona",
                    "41001 Sevilla",
                    "46002 Valencia",
                    "29015 Málaga",
                )
            )
            return f"{street} {r.randint(1, 150)}, {r.randint(1, 8)}º {r.choice('ABCD')}, {city}"
        if style == 5:
            return f"Via {r.choice(('Roma', 'Garibaldi', 'Dante', 'Mazzini', 'dei Mille'))} {r.randint(1, 120)}, {r.choice(('20121 Milano', '00184 Roma', '10121 Torino', '50123 Firenze', '80138 Napoli'))}"
        if style == 6:
            return f"{r.choice(('Prinsengracht', 'Keizersgracht', 'Damrak', 'Oudegracht', 'Witte de Withstraat'))} {r.randint(1, 400)}-{r.randint(1, 3)}, {r.randint(1000, 3099)} {self.rs(up, 2)} {r.choice(('Amsterdam', 'Utrecht', 'Rotterdam'))}"
        if style == 7:
            return f"Flat {r.randint(101, 1204)}, {r.choice(('Sai Residency', 'Prestige Lakeside', 'Green Park Apartments', 'Sobha Dream Acres'))}, {r.randint(1, 20)}th Cross, {r.choice(('Indiranagar', 'Koramangala', 'HSR Layout', 'Whitefield'))}, Bengaluru {560000 + r.randint(1, 110)}"
        if style == 8:
            return f"Rua {r.choice(('das Flores', 'Augusta', 'Oscar Freire', 'da Consolação', 'Sete de Setembro'))}, {r.randint(10, 2400)}, apto {r.randint(11, 184)}, {r.choice(('São Paulo - SP', 'Rio de Janeiro - RJ', 'Belo Horizonte - MG', 'Curitiba - PR'))}, {d(5)}-{d(3)}"
        if style == 9:
            return f"{r.randint(1, 5)}-{r.randint(1, 30)}-{r.randint(1, 20)} {r.choice(('Jingumae, Shibuya-ku', 'Nishi-Shinjuku, Shinjuku-ku', 'Kita-Aoyama, Minato-ku', 'Nakazaki, Kita-ku'))}, {r.choice(('Tokyo', 'Osaka'))} {d(3)}-{d(4)}"
        if style == 10:
            return f"{r.randint(1, 999)} {self.s_street()} {r.choice(('Street', 'Avenue', 'Crescent', 'Drive'))}, {r.choice(('Toronto, ON', 'Ottawa, ON', 'Calgary, AB', 'Vancouver, BC', 'Halifax, NS'))} {r.choice('KLMNTV')}{d(1)}{r.choice(up)} {d(1)}{r.choice(up)}{d(1)}"
        if style == 11:
            return f"{r.randint(1, 30)}/{r.randint(1, 200)} {r.choice(('Beach Rd', 'Smith St', 'Chapel St', 'Oxford St', 'Sydney Rd'))}, {r.choice(('Bondi NSW 2026', 'Fitzroy VIC 3065', 'Brunswick VIC 3056', 'Paddington NSW 2021', 'New Farm QLD 4005'))}"
        if style == 12:
            return f"{r.randint(1, 80)} {r.choice(('Adeola Odeku Street', 'Awolowo Road', 'Admiralty Way', 'Allen Avenue'))}, {r.choice(('Victoria Island', 'Ikoyi', 'Lekki Phase 1', 'Ikeja'))}, Lagos"
        if style == 13:
            return f"Av. {r.choice(('Insurgentes Sur', 'Reforma', 'Universidad', 'Revolución'))} {r.randint(10, 3000)}, Col. {r.choice(('Del Valle', 'Roma Norte', 'Condesa', 'Narvarte'))}, {d(5)} Ciudad de México"
        return f"ul. {r.choice(('Marszałkowska', 'Floriańska', 'Piotrkowska', 'Długa'))} {r.randint(1, 140)}/{r.randint(1, 60)}, {d(2)}-{d(3)} {r.choice(('Warszawa', 'Kraków', 'Łódź', 'Gdańsk'))}"

    def s_coords(self) -> str:
        r = self.r
        lat0, lon0 = r.choice(
            (
                (40.71, -74.0),
                (51.5, -0.12),
                (48.85, 2.35),
                (52.52, 13.4),
                (35.68, 139.69),
                (-23.55, -46.63),
                (6.52, 3.37),
                (12.97, 77.59),
                (-33.87, 151.21),
                (43.65, -79.38),
                (19.43, -99.13),
                (-1.29, 36.82),
                (37.57, 126.98),
                (41.01, 28.97),
                (53.8, -1.55),
                (45.76, 4.83),
                (30.27, -97.74),
                (50.06, 19.94),
            )
        )
        lat = lat0 + r.uniform(-0.15, 0.15)
        lon = lon0 + r.uniform(-0.15, 0.15)
        style = r.randrange(5)
        if style == 0:
            return f"{lat:.5f}, {lon:.5f}"
        if style == 1:
            return f"lat {lat:.6f} lon {lon:.6f}"
        if style == 2:
            return f"https://maps.google.com/?q={lat:.6f},{lon:.6f}"
        if style == 3:

            def dms(v: float, pos: str, neg: str) -> str:
                a = abs(v)
                deg = int(a)
                mins = int((a - deg) * 60)
                secs = ((a - deg) * 60 - mins) * 60
                return f"{deg}°{mins}'{secs:.1f}\"{pos if v >= 0 else neg}"

            return f"{dms(lat, 'N', 'S')} {dms(lon, 'E', 'W')}"
        return f"{lat:.4f},{lon:.4f}"

    def s_ipv4(self) -> str:
        first = self.r.choice(
            (
                24,
                31,
                37,
                46,
                62,
                68,
                73,
                77,
                81,
                86,
                89,
                92,
                98,
                109,
                142,
                151,
                176,
                185,
                188,
                212,
                213,
                217,
            )
        )
        return f"{first}.{self.r.randint(0, 255)}.{self.r.randint(0, 255)}.{self.r.randint(1, 254)}"

    def s_ipv6(self) -> str:
        prefix = self.pick(("2a02", "2a01", "2600", "2601", "2003", "2400", "2804", "2409"))
        groups = [format(self.r.randrange(65536), "x") for _ in range(7)]
        if self.r.random() < 0.4:
            return f"{prefix}:{groups[0]}:{groups[1]}::{groups[5]}:{groups[6]}"
        return prefix + ":" + ":".join(groups)

    def s_mac(self) -> str:
        octets = [f"{self.r.randrange(256):02x}" for _ in range(6)]
        octets[0] = f"{int(octets[0], 16) & 0xFC:02x}"
        sep = self.pick((":", ":", "-"))
        mac = sep.join(octets)
        return mac.upper() if self.r.random() < 0.4 else mac

    def s_ssid(self) -> str:
        return self.pick(
            (
                f"NETGEAR{self.digits(2)}",
                f"TP-Link_{self.rs('0123456789ABCDEF', 4)}",
                f"Vodafone-{self.rs('0123456789ABCDEF', 4)}",
                f"BT-{self.rs(_UPPER_DIGITS, 6)}",
                f"SKY{self.rs(_UPPER_DIGITS, 5)}",
                f"Livebox-{self.rs('0123456789ABCDEF', 4)}",
                f"FRITZ!Box 7590 {self.rs(string.ascii_uppercase, 2)}",
                f"{self.s_last()}_Family_WiFi",
                f"The{ascii_fold(self.s_last())}s",
                f"{self.s_first()}'s iPhone",
                "Pretty Fly for a WiFi",
                f"Telstra{self.rs('0123456789ABCDEF', 4)}",
                f"HUAWEI-{self.rs(_UPPER_DIGITS, 4)}_5G",
            )
        )

    def s_wifi_pass(self) -> str:
        return self.pick(
            (
                self.rs(_UPPER_DIGITS, 10),
                self.digits(20),
                self.s_password(),
                self.rs(string.ascii_lowercase + string.digits, 12),
                f"{self.pick(WORDS)}{self.pick(WORDS)}{self.digits(3)}",
            )
        )

    def s_pnr(self) -> str:
        return self.rs("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 6)

    def s_flight(self) -> str:
        return f"{self.pick(AIRLINES)} {self.r.randint(1, 2999)}"

    def s_eticket(self) -> str:
        return f"{self.pick(('220', '125', '176', '001', '016', '157', '235', '074', '057'))}-{self.digits(10)}"

    def s_hotel(self) -> str:
        return self.pick(HOTELS)

    def s_hotel_conf(self) -> str:
        return self.pick(
            (
                f"{self.digits(4)}.{self.digits(3)}.{self.digits(3)}",
                f"HX{self.digits(7)}",
                f"{self.digits(8, True)}",
                f"{self.rs(string.ascii_uppercase, 3)}-{self.digits(6)}",
            )
        )

    def s_room(self) -> str:
        return str(self.r.randint(1, 14) * 100 + self.r.randint(1, 40))

    # -- accounts and profiles -------------------------------------------------------------
    def s_handle(self) -> str:
        p = self.person(0)
        f, last = ascii_fold(p.first).lower(), ascii_fold(p.last).lower()
        return "@" + self.pick(
            (
                f"{f}{last}",
                f"{f}_{self.r.randint(1, 99)}",
                f"{f}.{last[:4]}",
                f"the{f}{last[0]}",
                f"{f}_{self.pick(WORDS)}",
                f"{last}{self.r.randint(80, 99)}",
                f"{f}{last}official",
                f"{self.pick(WORDS)}{f}",
                f"real{f}{self.r.randint(1, 9)}",
            )
        )

    def s_account_id(self) -> str:
        return self.pick(
            (
                f"ACC-{self.digits(8)}",
                f"{self.digits(4)}-{self.digits(4)}",
                f"{self.digits(9, True)}",
                f"A{self.digits(7)}",
                f"CUST{self.digits(6)}",
                f"{self.rs(string.ascii_lowercase + string.digits, 12)}",
                f"{self.digits(3)}-{self.digits(3)}-{self.digits(4)}",
            )
        )

    def s_loyalty(self) -> str:
        return self.pick(
            (
                f"Miles & More {self.digits(3)} {self.digits(3)} {self.digits(3)} {self.digits(3)} {self.digits(3)}",
                f"BA Executive Club {self.digits(8)}",
                f"Marriott Bonvoy {self.digits(9)}",
                f"Tesco Clubcard 634004 {self.digits(4)} {self.digits(4)} {self.digits(4)}",
                f"Delta SkyMiles {self.digits(10)}",
                f"Nectar {self.digits(4)} {self.digits(4)} {self.digits(4)} {self.digits(4)}",
                f"Flying Blue {self.digits(10)}",
                f"Hilton Honors {self.digits(9)}",
                f"Emirates Skywards EK {self.digits(9)}",
                f"IKEA Family {self.digits(4)} {self.digits(4)} {self.digits(4)} {self.digits(4)}",
            )
        )

    def s_job(self) -> str:
        return self.pick(JOBS)

    def s_job2(self) -> str:
        return self.pick(JOBS)

    def s_linkedin(self) -> str:
        p = self.person(0)
        return f"linkedin.com/in/{ascii_fold(p.first).lower()}-{ascii_fold(p.last).lower()}-{self.rs(_HEX, 6)}"

    def s_steam_id(self) -> str:
        return "7656119" + self.digits(10)

    def s_discord(self) -> str:
        p = self.person(0)
        return self.pick(
            (
                f"{ascii_fold(p.first).lower()}#{self.digits(4)}",
                f"{ascii_fold(p.first).lower()}.{self.pick(WORDS)}",
            )
        )

    def s_y1(self) -> str:
        return str(self.r.randint(2005, 2015))

    def s_y2(self) -> str:
        return str(self.r.randint(2016, 2025))

    def s_university(self) -> str:
        return self.pick(
            (
                "University of Leeds",
                "TU München",
                "University of Lagos",
                "IIT Bombay",
                "UT Austin",
                "Sorbonne Université",
                "University of Toronto",
                "Universidade de São Paulo",
                "Kyoto University",
                "University of Nairobi",
                "Jagiellonian University",
            )
        )

    # -- devices and incidents -------------------------------------------------------------
    def s_serial(self) -> str:
        return self.pick(
            (
                f"C02{self.rs(_UPPER_DIGITS, 9)}",
                self.rs(_UPPER_DIGITS, 7),
                f"PF{self.rs(_UPPER_DIGITS, 6)}",
                f"R58{self.rs(_UPPER_DIGITS, 8)}",
                f"{self.rs('0123456789ABCDEF', 12)}",
                f"SN{self.digits(10)}",
                f"{self.rs(string.ascii_uppercase, 3)}{self.digits(8)}{self.rs(string.ascii_uppercase, 1)}",
            )
        )

    def s_imei(self) -> str:
        body = self.pick(("35", "86", "01", "35", "49")) + self.digits(12)
        full = body + luhn_digit(body)
        return f"{full[:2]}-{full[2:8]}-{full[8:14]}-{full[14]}" if self.r.random() < 0.3 else full

    def s_vin(self) -> str:
        wmi = self.pick(
            (
                "1HG",
                "WVW",
                "WBA",
                "JTD",
                "1FA",
                "3VW",
                "KMH",
                "VF1",
                "SAL",
                "YV1",
                "ZFA",
                "5YJ",
                "2T1",
                "WDD",
                "TMB",
            )
        )
        rest = (
            self.rs(_VIN_CHARS, 5)
            + "0"
            + self.rs("ABCDEFGHJKLMNPRSTVWXY123456789", 1)
            + self.rs(_VIN_CHARS, 1)
            + self.digits(6)
        )
        return vin_with_check(wmi + rest)

    def s_plate(self) -> str:
        up = "ABCDEFGHJKLMNPRSTVWXYZ"
        return self.pick(
            (
                f"{self.rs(up, 2)}{self.digits(2)} {self.rs(up, 3)}",
                f"{self.r.randint(1, 9)}{self.rs(up, 3)}{self.digits(3)}",
                f"{self.rs(up, 3)}-{self.digits(4)}",
                f"{self.pick(('B', 'M', 'HH', 'K', 'F'))}-{self.rs(up, 2)} {self.digits(4)}",
                f"{self.rs(up, 2)}-{self.digits(3)}-{self.rs(up, 2)}",
                f"{self.pick(('MH', 'KA', 'DL', 'TN'))} {self.digits(2)} {self.rs(up, 2)} {self.digits(4)}",
                f"{self.digits(4)} {self.rs('BCDFGHJKLMNPRSTVWXYZ', 3)}",
            )
        )

    def s_car(self) -> str:
        return f"{self.r.randint(2008, 2025)} {self.pick(CAR_MODELS)}"

    def s_device(self) -> str:
        return self.pick(DEVICES)

    def s_lan_ip(self) -> str:
        return f"192.168.{self.pick(('0', '1', '1', '178', '2'))}.{self.r.randint(2, 254)}"

    # -- generic fillers -------------------------------------------------------------------
    def s_paragraph(self) -> str:
        return self.pick(PARAGRAPHS)

    def s_code(self) -> str:
        return self.pick(CODE_SNIPPETS)

    def s_nat_lang(self) -> str:
        return self.pick(NAT_LANGS)

    def s_prog_lang(self) -> str:
        return self.pick(PROG_LANGS)

    def s_framework(self) -> str:
        return self.pick(FRAMEWORKS)

    def s_framework2(self) -> str:
        return self.pick(FRAMEWORKS)

    def s_dish(self) -> str:
        return self.pick(DISHES)

    def s_topic(self) -> str:
        return self.pick(TOPICS)

    def s_animal(self) -> str:
        return self.pick(ANIMALS)

    def s_city2(self) -> str:
        return self.pick(CITIES)

    def s_hex7(self) -> str:
        return self.rs(_HEX, 7)

    def s_salary2(self) -> str:
        return Fill(self.r).s_salary()

    def s_car_model(self) -> str:
        return self.pick(CAR_MODELS)

    def s_time2(self) -> str:
        return self.s_time()

    def s_time3(self) -> str:
        return self.s_time()

    def s_url_private2(self) -> str:
        return Fill(self.r).s_url_private()

    def s_chat_line2(self) -> str:
        return Fill(self.r).s_chat_line()

    def s_version(self) -> str:
        return f"{self.r.randint(0, 9)}.{self.r.randint(0, 30)}.{self.r.randint(0, 12)}"

    # -- placeholders and documentation values (false_keyword negatives) -------------------
    def s_ph_email(self) -> str:
        return self.pick(
            (
                "user@example.com",
                "jane.doe@example.org",
                "test@test.com",
                "foo@bar.com",
                "name@domain.com",
                "you@yourcompany.com",
                "<email>",
                "{{email}}",
                "$EMAIL",
                "EMAIL_HERE",
                "john.doe@example.net",
                "admin@localhost",
                "noreply@example.com",
                "alice@example.com",
            )
        )

    def s_ph_phone(self) -> str:
        return self.pick(
            (
                f"555-01{self.digits(2)}",
                f"(555) 010-01{self.digits(2)}",
                f"+1-202-555-01{self.digits(2)}",
                f"+44 7700 900{self.digits(3)}",
                "(XXX) XXX-XXXX",
                "000-000-0000",
                "+00 000 000 000",
                "<phone>",
                "PHONE_NUMBER",
                f"+61 491 570 1{self.digits(2)}",
            )
        )

    def s_ph_name(self) -> str:
        return self.pick(
            (
                "Jane Doe",
                "John Doe",
                "John Smith",
                "Max Mustermann",
                "Erika Mustermann",
                "Joe Bloggs",
                "Fred Nurk",
                "Mario Rossi",
                "Juan Pérez",
                "Foo Bar",
                "Alice",
                "Bob",
                "Test User",
                "[Full Name]",
                "<name>",
                "Ivan Ivanovich Ivanov",
                "Taro Yamada",
                "Ola Nordmann",
            )
        )

    def s_ph_address(self) -> str:
        return self.pick(
            (
                "123 Main St, Anytown, USA",
                "Musterstraße 1, 12345 Musterstadt",
                "221B Baker Street, London",
                "742 Evergreen Terrace, Springfield",
                "[Street], [City], [ZIP]",
                "1 Example Road, Sampleton AB1 2CD",
                "<street address>",
                "00000 Placeholder Ave",
                "ADDRESS_LINE_1",
            )
        )

    def s_ph_card(self) -> str:
        return self.pick(
            (
                "4242 4242 4242 4242",
                "4111 1111 1111 1111",
                "5555 5555 5555 4444",
                "3782 822463 10005",
                "4000 0000 0000 0002",
                "XXXX XXXX XXXX 1234",
                "**** **** **** 4242",
                "0000 0000 0000 0000",
                "<card_number>",
                "CARD_NUMBER",
            )
        )

    def s_ph_iban(self) -> str:
        return self.pick(
            (
                "DE89 3704 0044 0532 0130 00",
                "GB82 WEST 1234 5698 7654 32",
                "FR14 2004 1010 0505 0001 3M02 606",
                "NL91 ABNA 0417 1643 00",
                "XX00 0000 0000 0000 00",
                "<IBAN>",
                "IBAN_HERE",
            )
        )

    def s_ph_ssn(self) -> str:
        return self.pick(
            (
                "000-00-0000",
                "123-45-6789",
                "078-05-1120",
                "XXX-XX-XXXX",
                "***-**-****",
                "<SSN>",
                "999-99-9999",
            )
        )

    def s_ph_id(self) -> str:
        return self.pick(
            (
                "EMP000000",
                "ID-000000",
                "A00000000",
                "XXXXXXXXX",
                "<passport number>",
                "D123-4567-8901",
                "QQ 12 34 56 C",
                "S0000-00000",
                "BADGE_ID",
                "L0000000",
                "12345678Z",
            )
        )

    def s_ph_secret_line(self) -> str:
        return self.pick(
            (
                "API_KEY=your-api-key-here",
                "password: ${DB_PASSWORD}",
                'token = "<TOKEN>"',
                "export OPENAI_API_KEY=sk-...",
                "SECRET_KEY=changeme",
                "--password=$PASSWORD",
                "postgres://user:password@localhost:5432/db",
                "mongodb://<username>:<password>@host:27017",
                'api_key: "YOUR_API_KEY"',
                "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}",
                "AWS_SECRET_ACCESS_KEY=<your-secret>",
                '{"password": "********"}',
                "STRIPE_KEY=sk_test_xxxxxxxx",
                "REDIS_URL=redis://localhost:6379/0",
                "JWT_SECRET=${JWT_SECRET:?must be set}",
                "ANTHROPIC_API_KEY=sk-ant-...",
                "-p $MYSQL_PWD",
                "Authorization: Bearer <token>",
            )
        )

    def s_ph_key(self) -> str:
        return self.pick(
            (
                "YOUR_API_KEY",
                "sk-...",
                "sk-xxxxxxxxxxxxxxxx",
                "<your-api-key>",
                "${OPENAI_API_KEY}",
                "$TOKEN",
                "xxxx-xxxx-xxxx-xxxx",
                "****",
                "REPLACE_ME",
                "<token>",
                "sk_test_...",
                "ghp_XXXXXXXXXXXXXXXXXXXX",
                "AKIAIOSFODNN7EXAMPLE",
                "os.environ['API_KEY']",
            )
        )

    def s_ph_password(self) -> str:
        return self.pick(
            (
                "<password>",
                "${DB_PASSWORD}",
                "********",
                "changeme",
                "your-password",
                "$PASSWORD",
                "hunter2",
                "P@ssw0rd",
                "password123",
                "PASSWORD",
                "{{ vault_db_password }}",
                "secret",
                "<redacted>",
            )
        )

    def s_ph_ip(self) -> str:
        return self.pick(
            (
                "192.168.1.1",
                "127.0.0.1",
                "10.0.0.1",
                "203.0.113.42",
                "198.51.100.7",
                "0.0.0.0",
                "2001:db8::1",
                "::1",
                "localhost",
                "192.0.2.10",
            )
        )

    def s_ph_mac(self) -> str:
        return self.pick(
            (
                "00:00:5E:00:53:01",
                "00:00:00:00:00:00",
                "FF:FF:FF:FF:FF:FF",
                "XX:XX:XX:XX:XX:XX",
                "01:23:45:67:89:ab",
                "<mac>",
            )
        )

    def s_ph_device_id(self) -> str:
        return self.pick(
            (
                "1HGCM82633A004352",
                "XXXXXXXXXXXXXXXXX",
                "11111111111111111",
                "<VIN>",
                "00-000000-000000-0",
                "490154203237518",
                "<IMEI>",
                "XXXXXXXXXXXX",
                "SN-000000",
                "ABC123",
                "<serial>",
                "AB12 CDE",
            )
        )

    def s_ph_handle(self) -> str:
        return self.pick(
            (
                "@username",
                "@example",
                "@yourhandle",
                "user_123",
                "testuser",
                "<handle>",
                "{{ user.name }}",
                "@placeholder",
                "demo_user",
            )
        )

    def s_ph_health(self) -> str:
        return self.pick(
            (
                "Diagnosis: <ICD-10 code>",
                "MRN 000000",
                "Member ID XXXXXXXXX",
                "Patient: Test, Patient",
                "NHS number 999 999 9999",
                "Medication: <drug> <dose>",
                "condition: N/A",
                "DOB: 01/01/1900",
                "patient_id=PATIENT_ID",
            )
        )

    def s_doc_context(self) -> str:
        return self.pick(
            (
                "the README",
                "our API docs",
                "the tutorial",
                "the unit tests",
                "a Stack Overflow answer",
                "the sample config",
                "the onboarding guide",
                "the Swagger example",
                "our seed data",
                "the e2e fixtures",
                "the Postman collection",
                "the style guide",
            )
        )

    # -- media -----------------------------------------------------------------------------
    def s_chat_line(self) -> str:
        return self.pick(
            (
                "I can't keep pretending everything is fine with us",
                "did you tell your mum about the test results yet",
                "I transferred the rent, don't tell Dad",
                "the lawyer says the custody hearing is on the 14th",
                "I think I'm going to quit before they fire me",
                "pls delete the photos from saturday",
                "I'm outside your flat, the door code still 4471?",
                "my therapist says I should set boundaries with you",
                "we need to talk about the money you borrowed",
                "I saw your ex at the clinic yesterday",
                "he's been drinking again and I'm scared",
                "the bank called about the overdraft again",
            )
        )

    def s_url_private(self) -> str:
        return self.pick(
            (
                f"https://www.webmd.com/{self.pick(('hiv-aids', 'depression', 'std', 'pregnancy', 'cancer'))}/symptoms",
                "https://www.reddit.com/r/divorce/comments/",
                "https://www.indeed.com/jobs?q=remote&l=",
                f"https://www.google.com/search?q=how+to+tell+my+boss+I+have+{self.pick(CONDITIONS).replace(' ', '+')}",
                "https://www.plannedparenthood.org/abortion",
                "https://www.gamblersanonymous.org/",
                "https://www.tinder.com/app/matches",
                f"https://www.zillow.com/homedetails/{self.r.randint(10, 9999)}-{self.s_street()}-St/",
                "https://www.aa.org/find-aa",
                f"https://mail.google.com/mail/u/0/#inbox/{self.rs(_HEX, 16)}",
                "https://www.bankruptcy-help.co.uk/",
            )
        )

    def s_exif(self) -> str:
        lat = self.r.uniform(-40, 60)
        lon = self.r.uniform(-120, 140)

        def dms(v: float) -> str:
            a = abs(v)
            deg = int(a)
            mins = int((a - deg) * 60)
            return f"{deg} deg {mins}' {((a - deg) * 60 - mins) * 60:.2f}\""

        y, m, d = self._date(2021, 2026)
        return (
            f"Make: {self.pick(('Apple', 'samsung', 'Google', 'Canon', 'SONY'))}\nModel: {self.pick(('iPhone 14 Pro', 'SM-S918B', 'Pixel 7', 'EOS R6', 'ILCE-7M4'))}\n"
            f"DateTimeOriginal: {y}:{m:02d}:{d:02d} {self.s_time()}:{self.r.randint(0, 59):02d}\n"
            f"GPSLatitude: {dms(lat)} {'N' if lat >= 0 else 'S'}\nGPSLongitude: {dms(lon)} {'E' if lon >= 0 else 'W'}"
        )

    def s_call_log(self) -> str:
        lines = []
        for _ in range(self.r.randint(3, 6)):
            y, m, d = self._date(2024, 2026)
            lines.append(
                f"{self.pick(('Outgoing', 'Incoming', 'Missed'))}  {Fill(self.r).s_phone()}  {d} {MONTHS[m - 1][:3]} {self.s_time()}  {self.r.randint(0, 59)}m {self.r.randint(0, 59):02d}s"
            )
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Obfuscation (typo rows) and register variation
# ---------------------------------------------------------------------------------------

MISSPELLINGS: dict[str, tuple[str, ...]] = {
    "password": (
        "passwrd",
        "pasword",
        "passwort",
        "pwd",
        "passwd",
        "p@ssword",
        "pssword",
        "paswrd",
        "passw0rd",
        "pass",
    ),
    "passwords": ("passwrds", "paswords", "pwds"),
    "address": ("adress", "addres", "adres", "addrss", "addy"),
    "account": ("acount", "acct", "accnt", "acc", "akkount"),
    "number": ("numbr", "nr", "no.", "num", "nummer", "numer", "#"),
    "phone": ("fone", "phn", "phonee", "ph"),
    "email": ("e-mail", "emial", "emal", "mail", "eml"),
    "please": ("pls", "plz", "pleas", "plese", "pleaze"),
    "you": ("u", "yu", "yuo"),
    "your": ("ur", "yor", "youre"),
    "what": ("wat", "wht", "whaat"),
    "because": ("bc", "cuz", "becuase", "coz"),
    "credit": ("credt", "cedit", "creditt"),
    "card": ("crd", "kard", "cardd"),
    "security": ("securty", "secruity", "sec", "securiy"),
    "social": ("socail", "socal", "soc"),
    "license": ("licence", "lisence", "licens"),
    "licence": ("license", "lisence", "licnce"),
    "passport": ("pasport", "passprt", "pass port"),
    "doctor": ("docter", "dr", "doc"),
    "medication": ("medicaton", "meds", "medecine", "medicashun"),
    "diagnosed": ("diagnozed", "dignosed", "diagnosd", "diagnose"),
    "appointment": ("apointment", "appt", "appoitment"),
    "insurance": ("insurence", "insurnce", "insurance"),
    "birthday": ("bday", "birthdy", "b-day"),
    "the": ("teh", "da", "th"),
    "with": ("wth", "w/", "wit"),
    "and": ("n", "&", "nd"),
    "for": ("4", "fr", "fo"),
    "know": ("kno", "knw", "no"),
    "tomorrow": ("tmrw", "tomorow", "2moro"),
    "tonight": ("tonite", "2nite"),
    "thanks": ("thx", "thnks", "ty", "tnx"),
    "message": ("msg", "mesage", "mssg"),
    "help": ("halp", "hlp", "hepl"),
    "bank": ("bnk", "bankk"),
    "details": ("detials", "deets", "detais"),
    "key": ("kee", "ky"),
    "token": ("tokn", "tokken", "tkn"),
    "secret": ("secrit", "sekret", "scret"),
    "login": ("loggin", "lgin", "log-in"),
    "username": ("usrname", "user name", "usernme"),
    "birth": ("brth", "birht"),
    "date": ("dat", "dte"),
    "home": ("hom", "hme"),
    "test": ("tst", "tesst"),
    "results": ("reslts", "resluts", "results"),
    "positive": ("postive", "positiv", "+ve"),
    "pregnant": ("pregant", "preggers", "pregnat"),
    "salary": ("salery", "sallary", "slry"),
    "iban": ("ibn", "i-ban"),
    "routing": ("routng", "rooting"),
    "code": ("cde", "kode"),
    "pin": ("pinn", "p1n"),
    "serial": ("serail", "srial"),
    "located": ("locatd", "loacted"),
    "wifi": ("wi-fi", "wify", "wfi"),
    "are": ("r", "ar"),
    "to": ("2", "to", "too"),
    "okay": ("ok", "k", "okey"),
    "really": ("rly", "realy"),
    "something": ("smth", "somthing", "sth"),
    "someone": ("some1", "smone"),
    "people": ("ppl", "peeps"),
    "about": ("abt", "abut"),
    "should": ("shud", "shld"),
    "would": ("wud", "wld"),
    "could": ("cud", "cld"),
    "without": ("w/o", "witout"),
    "question": ("q", "qestion", "questn"),
    "problem": ("prob", "problm", "porblem"),
    "computer": ("pc", "compter"),
}
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_KEYBOARD = {
    "a": "sq",
    "s": "ad",
    "d": "sf",
    "e": "wr",
    "r": "et",
    "t": "ry",
    "o": "ip",
    "i": "uo",
    "n": "bm",
    "m": "n",
    "l": "k",
    "c": "xv",
    "u": "yi",
    "p": "o",
}
_TOKEN = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)


def _drop_vowels(word: str) -> str:
    if len(word) < 4:
        return word
    return word[0] + "".join(ch for ch in word[1:] if ch.lower() not in "aeiou")


def _obfuscate_word(word: str, r: Random) -> str:
    op = r.randrange(9)
    if op == 0:
        return _drop_vowels(word)
    if op == 1:
        i = r.randrange(1, len(word))
        return word[:i] + word[i] + word[i:]
    if op == 2 and len(word) > 3:
        i = r.randrange(1, len(word) - 2)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == 3 and len(word) > 4:
        i = r.randrange(1, len(word) - 1)
        return word[:i] + word[i + 1 :]
    if op == 4:
        return "".join(_LEET.get(ch, ch) if r.random() < 0.6 else ch for ch in word)
    if op == 5:
        chars = list(word)
        idx = [i for i, ch in enumerate(chars) if ch.lower() in _KEYBOARD]
        if idx:
            i = r.choice(idx)
            chars[i] = r.choice(_KEYBOARD[chars[i].lower()])
        return "".join(chars)
    if op == 6 and len(word) <= 9:
        return r.choice((" ", "-", ".")).join(word)
    if op == 7:
        return word.upper() if r.random() < 0.3 else word.lower()
    return _drop_vowels(word)


def _obfuscate_digits(token: str, r: Random) -> str:
    raw = re.sub(r"[\s\-.]", "", token)
    op = r.randrange(5)
    if op == 0:
        return " ".join(raw)
    if op == 1:
        return "-".join(raw[i : i + 2] for i in range(0, len(raw), 2))
    if op == 2:
        return ".".join(raw[i : i + 3] for i in range(0, len(raw), 3))
    if op == 3:
        return raw.replace("0", "o").replace("1", "l") if r.random() < 0.5 else raw
    return raw


def typo(text: str, r: Random, strength: float = 1.0) -> str:
    """Misspell, drop vowels, space out, leet and regroup; never returns `text` unchanged."""
    parts = re.split(r"(\s+)", text)
    changed = 0
    for i, part in enumerate(parts):
        if not part or part.isspace():
            continue
        m = _TOKEN.match(part)
        if m is None:
            continue
        pre, core, post = m.groups()
        low = core.lower()
        new = core
        if low in MISSPELLINGS and r.random() < 0.65 * strength:
            new = r.choice(MISSPELLINGS[low])
        elif (
            sum(ch.isdigit() for ch in core) >= 4
            and re.fullmatch(r"[\d\s\-.]+", core)
            and r.random() < 0.45 * strength
        ):
            new = _obfuscate_digits(core, r)
        elif core.isalpha() and len(core) >= 4 and r.random() < 0.2 * strength:
            new = _obfuscate_word(core, r)
        if new != core:
            changed += 1
            parts[i] = pre + new + post
    out = "".join(parts)
    if r.random() < 0.35 * strength:
        out = out.lower()
    if r.random() < 0.3 * strength:
        out = out.replace("'", "").rstrip(".?!")
    if changed == 0 or out == text:
        words = [i for i, p in enumerate(parts) if p.isalpha() and len(p) >= 4]
        if words:
            i = r.choice(words)
            parts[i] = _drop_vowels(parts[i]) if r.random() < 0.5 else _obfuscate_word(parts[i], r)
            out = "".join(parts)
        if out == text:
            out = text.lower().replace(" ", "  ", 1) if text.lower() != text else text + " pls"
    return out


PREFIXES = (
    "hey ",
    "hi, ",
    "Quick question: ",
    "pls help - ",
    "Hello assistant, ",
    "ok so ",
    "Hi there! ",
    "Can you help? ",
    "yo ",
    "Good morning. ",
    "Sorry to bother, ",
    "urgent: ",
    "Hello, ",
    "Dear assistant, ",
    "hmm ",
    "Question - ",
    "Help me please. ",
    "Bonjour, ",
    "hola! ",
    "Namaste, ",
    "so ",
    "OK. ",
    "Hi! ",
    "assistant: ",
    "Kindly, ",
)
SUFFIXES = (
    " thanks",
    " Thank you!",
    " asap",
    " pls",
    " :)",
    " (urgent)",
    " - cheers",
    " ty",
    " Thanks in advance.",
    " 🙏",
    " lol",
    " if you can",
    " Much appreciated.",
    " thx!",
    " Regards.",
    " ...",
    " ??",
    " Kindly do the needful.",
)


# First-person framings and answer-style requests that carry no private data: prefixed to
# negatives more often than to positives so "my"/"I" alone does not read as a disclosure.
FRAMES = (
    "I was reading an article earlier and got curious: ",
    "My question is: ",
    "For a presentation I'm preparing at work, ",
    "I'm writing a blog post and need to check something - ",
    "for my homework: ",
    "Not urgent, but ",
    "Asking out of general interest, ",
    "My friend and I were arguing about this: ",
    "I've always wondered: ",
    "I need this for my job, ",
    "my teacher asked us this today: ",
    "Quick one for my notes - ",
    "I'm new to this, so sorry if it's basic: ",
    "in my country people say different things, so: ",
)
ANSWER_STYLES = (
    " Please keep the answer short.",
    " Explain it simply, I'm not technical.",
    " Give me a few bullet points.",
    " A short answer is fine.",
    " I just want to understand it better.",
    " Step by step please.",
    " Answer in plain English.",
    " Can you give an example too?",
)
FRAME_NEGATIVE = 0.3
FRAME_POSITIVE = 0.08


def register(text: str, r: Random, frame: float = 0.0) -> str:
    """Vary the register of a chat-style prompt: framings, greetings, sign-offs, lower case."""
    if r.random() < frame:
        f = r.choice(FRAMES)
        text = f + (text[0].lower() + text[1:] if text[:2] != "I " else text)
    elif r.random() < 0.28:
        p = r.choice(PREFIXES)
        text = p + (
            text[0].lower() + text[1:] if p.rstrip()[-1:] in ",-:" and text[:2] != "I " else text
        )
    if r.random() < 0.15:
        text = text.rstrip() + r.choice(ANSWER_STYLES)
    elif r.random() < 0.22:
        text = text.rstrip() + r.choice(SUFFIXES)
    if r.random() < 0.12:
        text = text.lower()
    return text


# ---------------------------------------------------------------------------------------
# Templates. A leading "|" marks a raw template (pasted text, code, logs, developer prose)
# that keeps its register: no greetings, sign-offs or case changes are added to it.
# Per category: direct / typo (native obfuscation) / contextual positives, and topic /
# false_keyword / typo_question negatives. Counts are in the comments.
# ---------------------------------------------------------------------------------------

Templates = dict[str, tuple[str, ...]]

# contact: 15 direct, 6 typo, 16 contextual, 22 topic, 16 false_keyword, 3 typo_question = 78
CONTACT: Templates = {
    "direct": (
        "my email is {email}, can you sign me up for the newsletter",
        "Please update my phone number to {phone} on the booking.",
        "Write a short intro for me: I'm {name}, you can reach me at {email} or {phone}.",
        "add {name2} to my contacts: {phone2}, {email2}",
        "Draft a reply to the landlord and include my number {phone} so he can call me back.",
        "can u format this for my CV header: {name} | {email} | {phone} | {city}",
        "Send the invoice to {email} and cc my wife at {email2}.",
        "|Name: {name}\nEmail: {email}\nPhone: {phone}\n\nPlease turn this into a vCard.",
        "My personal mobile is {phone} and my work one is {phone2}. Which one should I put on the school form?",
        "Hello, this is {name}. I placed an order last week, please contact me on {phone} or at {email}.",
        "translate to {nat_lang}: Hello, my name is {name} and my email is {email}",
        "put my details in the email signature: {name}, {job}, {work_email}, mob. {phone}",
        "I am {name}, my whatsapp is {phone}, please contact me about the apartment",
        "Write an email to {name2} ({email2}) saying I'll be 20 minutes late and sign it with my number {phone}.",
        "how do i make gmail forward everything from {email} to {email2}",
    ),
    "typo": (
        "my emial is {email} pls add me to teh list",
        "cal me bak on {phone} its {first}",
        "mi numbr iz {phone} send me da code",
        "plz sned the form 2 {email} thx",
        "wats app me {phone} abt the flat, {first} here",
        "contact: {name}  m0b1le {phone}  e-mial {email}",
    ),
    "contextual": (
        "give the courier my number, it's the one I texted you from an hour ago, and tell them to ring twice",
        "I'm {name}; put my mobile on the form, it's my old {country} number with the leading zero dropped",
        "email my {relative} at the address she uses for her {company} pension, not the family one, about {weekday}",
        "my landlord {name2} only answers on his personal WhatsApp; write him a message saying the boiler is broken again",
        "my work email is just my first name dot last name at {company_domain}, I'm {name}; use that for the meeting invite",
        "call my {relative}, the number ending in {last4}, and say I'm running late",
        "my gmail is my first initial and surname plus the year I was born ({year}); surname is {last}. Sign me up with it.",
        "my {relative} {first2} changed their number, it's the old one with the last two digits swapped; write a text telling the family",
        "I'm {name}, the one in the green jacket from table 6 at the {company} conference; write a follow-up to {first2} so they have my contact details",
        "text my ex at the number still saved as '{pet}' in my phone and tell him to stop calling me",
        "reply to the email my {other} sent from their personal hotmail this morning, not the work one, and say yes to dinner",
        "my mobile is the same as my mum's except the last digit is 7 instead of 3; put that on the dentist form for {name}",
        "I'm {first} {last}, I emailed you from my husband's account by mistake, please update my contact to my own address",
        "fill in my contact details from my {company} email signature, the one I pasted into our chat last week",
        "I just moved and my new landline is my old one with a {city} area code in front; tell the bank",
        "my personal email is the one with my dog's name {pet} and my birth year {year}; use it for the school newsletter",
    ),
    "topic": (
        "how do I change the phone number on my {service} account",
        "my phone keeps getting spam calls, how do I stop them",
        "how do I add my work email to my {device}",
        "should I give my personal number to a recruiter?",
        "how do I hide my phone number when calling",
        "what's the best way to keep my personal and work contacts separate",
        "why do companies ask for a phone number when I sign up",
        "how do I change the email address on my {service} account",
        "what's the international dialling code for {country}",
        "is it safe to put my phone number on my CV?",
        "How do I format a phone number in E.164?",
        "what makes a professional email address, should I use my full name?",
        "how can I find out who owns an unknown number that keeps calling me",
        "What's a polite way to ask a recruiter for their contact details?",
        "Write a regex that validates email addresses in {prog_lang}.",
        "why do spam calls show my own area code",
        "how do I block a number on my {device}",
        "should I give my personal email or my work email when applying for jobs?",
        "how do I export my contacts from {service} to a CSV",
        "what is the format of UK mobile numbers",
        "how do I stop websites from selling my email address",
        "Can you explain how email forwarding works and whether it's safe?",
    ),
    "false_keyword": (
        "{doc_context} uses {ph_email} and {ph_phone} as sample contact details - can I keep them in a public repo?",
        "Write a {prog_lang} test asserting that the validator accepts {ph_email} and rejects 'not-an-email'.",
        "In the {framework} form example the default name is '{ph_name}' with {ph_email}; how do I clear it on focus?",
        "why is {ph_phone} used in so many films and TV shows?",
        "Generate seed data for {framework}: 20 users named like '{ph_name}' with {ph_email}-style addresses.",
        "In the docs, replace user@example.com with your own address before running the script.",
        '|Example request:\ncurl -X POST /users -d \'{lb}"email": "jane.doe@example.com", "phone": "+1-555-0100"{rb}\'\nWhat does the -d flag do?',
        "For the screenplay, give the detective a phone number in the 555-01xx range, like 555-0147, so it's fictional.",
        "Fill the demo form with dummy data: Name: John Doe, Email: test@test.com, Phone: 000-000-0000. Will validation pass?",
        "What does the placeholder <email> mean in this template? `Hello <name>, we sent a code to <email>`",
        "My test fixture uses foo@bar.com and +44 7700 900123 (the Ofcom drama range); is that fine for unit tests?",
        "|# contacts.csv sample\nname,email,phone\nJane Doe,jane@example.org,(555) 010-0199\nJohn Roe,john@example.net,(555) 010-0142\n\nWrite a pandas snippet that loads this.",
        "Why does my form reject noreply@localhost as an email address?",
        "Generate 5 fake contacts for a {framework} demo using only example.com emails and 555 numbers.",
        "In the mail merge, {lb}{lb}first_name{rb}{rb} and {lb}{lb}email{rb}{rb} aren't getting replaced - why?",
        "the tutorial says to put YOUR_EMAIL_HERE in config.yaml; is that the login email or the notification email?",
    ),
    "typo_question": (
        "hw do i chnge my emial on {service}",
        "wats the dialng code 4 {country}",
        "is it safe 2 put my fone numbr on my cv",
    ),
}

# identification: 16 direct, 6 typo, 16 contextual, 22 topic, 15 false_keyword, 3 typo_question = 78
IDENTIFICATION: Templates = {
    "direct": (
        "my badge number is {badge}, add it to the form",
        "Here is my passport number {passport}, expiry {date}; please fill in the visa application.",
        "SSN {ssn} - can you check I entered it right on the W-4?",
        "my driver's licence number is {licence}, dob {dob}, fill in the car rental form",
        "Please write a letter to HMRC quoting my National Insurance number {nino}.",
        "employee ID {employee_id}, name {name}: request annual leave for {date}",
        "my student id is {student_id} and i need to email the registrar about my transcript",
        "Our company's EIN is {ein}; draft the W-9 cover note for {name}.",
        "Can you check this Aadhaar {aadhaar} and PAN {pan} are in the right fields of my ITR form?",
        "|Applicant: {name}\nDate of birth: {dob}\nPassport: {passport}\nVisa no.: {visa_no}\nPurpose: tourism\n\nWrite a cover letter from this.",
        "I'm {name}, CPF {cpf}; I need a letter for the bank in Portuguese please",
        "mi DNI es {dni}, rellena el formulario de empadronamiento por favor",
        "UK driving licence {uk_licence} - does the number encode my birthday correctly?",
        "The VAT number for my freelance business is {vat}, add it to the invoice footer.",
        "my {national_id}, date of birth {dob}; fill in the KYC form for me",
        "My name is {name}, born {dob} in {city}. Write my bio for the conference programme.",
    ),
    "typo": (
        "my socail securty numbr is {ssn} pls fil it in",
        "pasport no {passport} exp {date} bookin 4 {first}",
        "lisence # {licence} dob {dob} whats next",
        "emp id {employee_id} need 2 chng my shift",
        "my tax id iz {tax_id} 4 the invoyce",
        "stdnt id {student_id} cant acces libary",
    ),
    "contextual": (
        "I'm applying for asylum in {country} and my only ID is an expired passport from home; help me write the statement",
        "my {relative}'s social security number is on the letter on my desk; fill in the benefits form for her from it",
        "my licence was suspended for {n} months after the drink-driving charge; write to my employer about the company car",
        "the badge number on my lanyard is my staff number with a B in front; fill in the access request for {company}",
        "my SSN has the same last four as on my W-2 from {company}; put it in and ask me if you need the rest",
        "my employee ID is on the back of my badge, it's my birthday followed by 01 - I was born {dob}",
        "My visa expired in {month} and I'm still in the country; how do I keep working without my employer finding out?",
        "my passport number starts with the same two letters as my initials and ends in {last4}; fill in the ESTA",
        "I'm undocumented and my kids were born here; can they get passports if I take them to the consulate?",
        "I'm {age} and was born on Christmas Day {year}, help me fill in the date of birth field and the age check",
        "use the licence number from the scan I sent you last week for the rental form, I'm {name}",
        "my student number is my enrolment year then my house number, {year} and 42; log me into the portal",
        "I lost my green card last week in {city}; draft a police report using the details from my A-number letter",
        "my National Insurance number is printed on my P60 from {company}; write to HMRC asking why my tax code is wrong",
        "I was born on {dob} in {city} to a father from {country}; do I qualify for citizenship by descent?",
        "my tax ID is my date of birth plus four digits my accountant gave me, dob {dob}; fill it in on the form",
    ),
    "topic": (
        "my passport expires in five months, can I still travel to {country}?",
        "where is the licence number printed on my driving licence",
        "do I need my social security number to open a bank account",
        "how do I get a copy of my birth certificate",
        "how do I apply for a national ID card in {country}",
        "what is a biometric passport",
        "how do I check the status of my visa application",
        "how do I renew my passport while living in {country}",
        "what's the difference between a TIN, an EIN and an SSN?",
        "how many characters is a driver's licence number in California",
        "Is it safe to send a photo of my ID over email?",
        "what documents do I need for a {country} tourist visa",
        "how is the UK National Insurance number structured",
        "what should I do if my passport is stolen abroad",
        "Can an employer ask for my social security number before an interview?",
        "How does the check letter in a Spanish DNI work?",
        "do I need a VAT number as a freelancer in {country}?",
        "what is an employee ID used for in payroll systems",
        "how long does it take to replace a lost student ID card",
        "Explain what KYC means and why banks ask for ID.",
        "how do I find my driver's licence number if I lost the card",
        "write a {prog_lang} function that validates a Brazilian CPF check digit",
    ),
    "false_keyword": (
        "{doc_context} shows {ph_ssn} as the example SSN - is it safe to use in demos?",
        "Write a {prog_lang} unit test that rejects '{ph_id}' as an invalid employee ID format.",
        "The sample KYC payload has 'name': '{ph_name}', 'id_number': '{ph_id}'; write a pydantic model for it.",
        "Is {ph_ssn} ever issued as a real social security number?",
        "Our {framework} fixtures use '{ph_id}' for passport_number; make the factory generate distinct dummies.",
        "Use 000-00-0000 as the SSN in the test fixture; it's never issued, right?",
        "|Passport: XXXXXXXXX\nDOB: DD/MM/YYYY\nName: <full name>\n\nWhat format should each of these form fields have?",
        "The sample form says 'Licence No: D123-4567-8901' - is that a real format or just a placeholder?",
        "In the seed data we use employee_id = 'EMP000000' for everyone; fix the unique constraint error.",
        "Why does the IRS publication use 123-45-6789 as its example SSN?",
        "Placeholder for the ID field: 'Enter your National Insurance number (e.g. QQ 12 34 56 C)'. Is that a good hint?",
        '|Mock data: {lb}"passport_number": "<PASSPORT_NO>", "ssn": "***-**-****"{rb}\nGenerate a JSON schema for it.',
        "Our docs show the VAT number as GB999 9999 73, the HMRC example; should we keep it?",
        "lorem ipsum - badge #00000, Jane Doe, Employee of the Month. Make the poster text funnier.",
        "Generate fake student IDs in the format S0000-00000 for the demo database.",
    ),
    "typo_question": (
        "how 2 renw pasport frm abroad",
        "wat is a tin numbr n do i need 1",
        "can my boss ask 4 my socail securty numbr",
    ),
}

# financial: 16 direct, 6 typo, 16 contextual, 22 topic, 15 false_keyword, 3 typo_question = 78
FINANCIAL: Templates = {
    "direct": (
        "card {card} exp {expiry} cvv {cvv}, book the flight",
        "pay the electricity bill with my card {card}",
        "My IBAN is {iban}; write the transfer instructions for my tenant.",
        "routing {routing} account {account_no} - set up direct deposit on the form",
        "Sort code {sort_code}, account {uk_account}, name {name}: draft a standing order letter.",
        "my salary is {salary} a year, how much should I ask for in my raise negotiation?",
        "I have {balance} in my {bank} savings and owe {debt} on my car loan; make me a payoff plan",
        "order {order_no} for {name} never arrived, write a complaint",
        "my mortgage with {bank} is {debt} at {rate}, loan number {loan_no}; should I remortgage?",
        "Here's my statement: balance {balance}, last payment {amount} to {company}. Explain the fees.",
        "|Cardholder: {name}\nCard number: {card}\nExpiry: {expiry}\nCVC: {cvv}\nBilling address: {address}\n\nIs this enough for the hotel?",
        "refund me to IBAN {iban} (account holder {name}) por favor",
        "I earn {salary} and my husband earns {salary2}; how should we split the bills fairly?",
        "Wire {amount} from account {account_no} to {iban} for the deposit on the flat.",
        "my credit score is {credit_score} and I have {debt} of card debt with {bank}; can I get a mortgage?",
        "Dear support, I was charged twice on card {card} for order {order_no}. Please refund one payment.",
    ),
    "typo": (
        "my credt crd is {card} exp {expiry} plz pay",
        "iban: {iban} send monie there",
        "acct numbr {account_no} rooting {routing} 4 direct deposit",
        "i mak {salary} a yr is dat good",
        "ordr {order_no} nevr came, refnd 2 my card pls",
        "c4rd n0 {card} cvv {cvv} y declnd",
    ),
    "contextual": (
        "my wife doesn't know I took out a {debt} payday loan; how do I pay it off before she sees the statement",
        "the rent goes out from my {bank} account on the 1st and there's only {balance} in it; which bills can wait",
        "my credit card with {bank} is maxed out and the minimum payment is more than I have this month",
        "I got a bonus of {amount} from {company} that I want to hide from my ex before the child support review",
        "use the account number my bank sent, the one ending in the year I was born ({year})",
        "I'm three months behind on my rent and my {relative} doesn't know; how do I ask the landlord for more time",
        "I just inherited about {amount} from my {relative} and my ex doesn't know; can I keep it out of the divorce settlement?",
        "use the card ending in {last4} for the order, the {bank} one, not the joint account",
        "After the layoff my savings are down to {balance}; write a budget for me and my two kids.",
        "My boss offered me {salary} to stay; I'm on a lot less right now, should I take it?",
        "I owe the tax office roughly {debt} from my side business that I never declared; what happens if they find out?",
        "pay with the card I saved last time, the Visa whose CVV is my house number backwards",
        "I'm filing for bankruptcy next month, what happens to my accounts at {bank}?",
        "my {relative} lent me {amount} and wants it back by {month}; draft a repayment plan",
        "my payslip from {company} shows I was underpaid by {amount} in {month}; write to HR",
        "I gambled away {amount} of our joint savings and my wife hasn't noticed yet, how do I fix this",
    ),
    "topic": (
        "my card got declined at the shop, what are the usual reasons?",
        "how do I find my IBAN in my banking app",
        "how can I raise my credit score quickly",
        "should I tell my bank before I travel abroad?",
        "how does a balance transfer credit card work",
        "what is an overdraft fee",
        "how do I open a bank account in {country} as a foreigner",
        "explain how IBAN check digits work",
        "what is a CVV and why do sites ask for it?",
        "how does compound interest work on a mortgage",
        "what's considered a good credit score in the US",
        "How do I find my bank's routing number?",
        "is it safe to give my card details over the phone?",
        "what's the difference between a debit card and a credit card",
        "how much should I save each month for retirement",
        "Should I pay off my credit card or my student loan first?",
        "how do I dispute a charge on my {bank} card",
        "what's the average salary of a {job} in {country}",
        "explain the Luhn algorithm with an example in {prog_lang}",
        "how long does an international wire transfer take",
        "what's the difference between a fixed and a variable rate mortgage",
        "how do I read my bank statement and spot hidden fees",
    ),
    "false_keyword": (
        "{doc_context} says to pay with {ph_card} in test mode - which expiry date should I use?",
        "Write a {prog_lang} test that the IBAN validator accepts {ph_iban} and rejects it with one digit changed.",
        "In the invoice mock-up the customer is {ph_name} with card {ph_card}; make the design less cluttered.",
        "Why does {ph_card} get declined in the sandbox while 4242 4242 4242 4242 works?",
        "|Sample payout config:\nbeneficiary: {ph_name}\niban: {ph_iban}\namount: 0.00\n\nWrite the JSON schema.",
        "Use Stripe's test card 4242 4242 4242 4242 with any future expiry and any CVC in the sandbox.",
        "|Card number: XXXX-XXXX-XXXX-1234\nExpiry: MM/YY\nCVV: ***\n\nMake this checkout form accessible.",
        "The docs use DE89 3704 0044 0532 0130 00 as the example IBAN; does our validator accept it?",
        "In the fixture the account is 'ACCOUNT_NUMBER' and routing is 'ROUTING_NUMBER'; write a pytest that parametrizes them.",
        "Why does 4111 1111 1111 1111 pass the Luhn check? Isn't it just the classic Visa test number?",
        "Mask card numbers in logs so they show as **** **** **** 1234 - write the regex in {prog_lang}.",
        "Order #00000 for Jane Doe, 123 Main St - what should the example invoice template look like?",
        "Invoice template: Salary: $XX,XXX / Balance: $0.00 / Amount due: {lb}amount{rb}. Clean up the wording.",
        "GB82 WEST 1234 5698 7654 32 is the standard example IBAN in the spec - explain each part.",
        "lorem ipsum: 'Your card ending in 0000 was charged $0.00' - write better notification copy.",
    ),
    "typo_question": (
        "wats a gud credt scor",
        "how do iban chek digts wrk",
        "is it safe 2 giv card detials on fone",
    ),
}

# authentication: 17 direct, 6 typo, 16 contextual, 22 topic, 18 false_keyword, 3 typo_question = 82
AUTHENTICATION: Templates = {
    "direct": (
        "my password is {password}, can you check if it's strong enough",
        "log into {service} for me, username {username} password {password}",
        "|{secret_line}\n\nwhy is my app not reading this?",
        "here's my API key {apikey}, write a curl example that uses it",
        "my bank PIN is {pin}, is that too easy to guess?",
        "db connection: {conn_string} - why does it time out?",
        "The answer to my security question ({security_question}) is {security_answer}; remind me if I forget.",
        "|{private_key}\n\nis this key in the right format for GitHub?",
        "|backup codes for my {service} account:\n{backup_codes}\nput them in a table",
        "my TOTP secret is {totp_secret}, generate the current code in python",
        "change my {service} password from {password} to {password2}",
        "|Cookie: {cookie}\n\nreplay this request with curl",
        "export AWS_ACCESS_KEY_ID={aws_key} AWS_SECRET_ACCESS_KEY={aws_secret} - why does aws s3 ls say access denied?",
        "my passphrase is '{passphrase}'; is it better than an 8 character password?",
        '|```python\nclient = Anthropic(api_key="{anthropic_key}")\n```\nThis throws a 401, help',
        "Authorization: Bearer {jwt} -> what does this token contain?",
        "git push asks for a token, I pasted {github_token} and it still failed",
    ),
    "typo": (
        "my psswrd is {password} y wont it let me in",
        "pin iz {pin} 4 my card dont tell any1",
        "api kee {apikey} not wrking plz fix",
        "usr: {username} pwd: {password} login 2 {service} 4 me",
        "tokn {github_token} gives 403 wat do",
        "p a s s w o r d = {password} remembr it 4 me",
    ),
    "contextual": (
        "my {service} password is written on the back of the photo of my kids on the fridge; is that safe enough",
        "the code to our office alarm at {company} is the founding year backwards; write it on the night-shift handover",
        "I gave my {relative} my phone passcode, it's our house number twice; should I change it after the fight",
        "use the token from my GitHub settings page, the one I made yesterday called 'laptop', to push the repo",
        "my password is my dog's name followed by the year we got him, {pet}; is that secure?",
        "the wifi password is the name of the street I grew up on plus my house number; should I change it?",
        "I use the same password everywhere: my wife's name and my birthday ({dob}). Which accounts should I change first?",
        "the answer to my security question is my first teacher, Mrs {last2}; is that guessable?",
        "my PIN is the year my daughter was born, {year}, and it's the same for my phone and my bank card",
        "my work laptop password is the one IT gave me with the last digit bumped every month; it's on 7 now",
        "the API key is the one in my .env on the shared drive, the line after DB_HOST; copy it into the script",
        "my {service} password is the same as my email password but with a ! at the end",
        "I told my {other} my banking password ({pet} plus our house number) when I was ill; should I change it?",
        "log me into {service} with the usual, you know, my cat's name and {year}",
        "My phone unlock pattern is an L starting top left and my SIM PIN is my mum's birthday; is that okay?",
        "the admin password for our {company} server is written on the whiteboard in the kitchen, it's the company name and {year}",
    ),
    "topic": (
        "how do I change my password on {service}",
        "my password manager says one of my passwords was in a breach, what should I do?",
        "where should I store my API keys in a small project",
        "I keep forgetting my PIN, any tips for remembering one?",
        "what makes a password manager's master password strong",
        "how often should I change my passwords",
        "what is passkey login and how does it work",
        "how long should a password be",
        "what's the difference between a passphrase and a password?",
        "How do I rotate an API key for {service} safely?",
        "is it safe to store auth tokens in localStorage",
        "I forgot my {service} password, how do I reset it?",
        "explain how TOTP two-factor codes are generated",
        "What's the best password manager for a family?",
        "how does bcrypt salt passwords",
        "Why should I never commit my .env file to git?",
        "what is a JWT and how is it signed",
        "how do I generate an SSH key pair for GitHub",
        "how do I use environment variables for secrets in {framework}",
        "what happens if my API key leaks on GitHub",
        "are security questions actually secure?",
        "how do I set up two-factor authentication on my {service} account",
    ),
    "false_keyword": (
        "{doc_context} has `{ph_secret_line}` - how do I load that from the environment in {framework}?",
        "What does the placeholder {ph_key} in {doc_context} stand for?",
        "|```\n{ph_secret_line}\n```\nIs it a bad idea to commit this example file?",
        "The login demo uses username '{ph_handle}' and password '{ph_password}'; how do I disable it in production?",
        "Write a {prog_lang} snippet that reads the API key from an env var instead of hardcoding {ph_key}.",
        "Our CI logs show {ph_password} where the password would be - is that masking working correctly?",
        "Set OPENAI_API_KEY=YOUR_API_KEY in .env before running the example.",
        "|```yaml\ndatabase:\n  user: ${DB_USER}\n  password: ${DB_PASSWORD}\n```\nHow do I make docker-compose substitute these?",
        "The README says `export API_KEY=sk-...` - where do I get a real one?",
        "curl -H 'Authorization: Bearer $TOKEN' https://api.example.com/v1/me returns 401; what's wrong with my shell quoting?",
        "What does `password: <password>` mean in this Helm values file?",
        "AKIAIOSFODNN7EXAMPLE shows up in our tests - is that a real AWS key?",
        "in the old IRC joke the password is 'hunter2'; explain the reference",
        "Replace the string 'changeme' in config.example.toml with a generated secret - write the script.",
        "|# .env.example\nDATABASE_URL=postgres://user:password@localhost:5432/mydb\nSECRET_KEY=replace-me\n\nIs this a good template for new contributors?",
        "My docs show ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx as the token format; is the length right?",
        "Why does the login form show the password as ******** and how do I add a show/hide toggle?",
        "GitHub secret scanning flagged 'sk-test-1234567890abcdef' in our docs; it's a dummy, how do I dismiss it?",
    ),
    "typo_question": (
        "how long shud a passwrd b",
        "wat is 2fa n do i need it",
        "y shudnt i comit my .env fil",
    ),
}

# health: 15 direct, 6 typo, 17 contextual, 26 topic, 13 false_keyword, 3 typo_question = 80
HEALTH: Templates = {
    "direct": (
        "I was diagnosed with {condition} last month, what should I eat?",
        "I take {med} every morning; can I drink alcohol tonight?",
        "my latest blood test says {lab}. Is that bad?",
        "my blood pressure this morning was {bp}, should I go to A&E?",
        "Please write a sick note for work: I have {condition} and my doctor, {doctor}, says I need two weeks off.",
        "my insurance member ID is {member_id} with {insurer}; write an appeal for the denied claim",
        "|Patient: {name}\nDOB: {dob}\n{mrn}\nDiagnosis: {condition}\nMedication: {med}\n\nSummarise this for my family.",
        "I'm {weight}, {height}, resting heart rate {heart_rate}; make me a training plan",
        "My NHS number is {nhs}; help me write to my GP about my {condition}.",
        "I got my {lab} result back and I'm on {med}; should I ask to change the dose?",
        "I've had {symptom} for {n} days and I have {condition}, should I worry?",
        "my son {first} ({age}) was diagnosed with {condition}, write a note for his teacher",
        "tengo {condition} y tomo {med}, ¿puedo viajar en avión?",
        "I'm HIV positive and undetectable; help me write a dating profile that mentions it tactfully",
        "I'm {n} weeks pregnant and my due date is {date}; draft my maternity leave request to {company}.",
    ),
    "typo": (
        "i got diagnozed w {condition} wat now",
        "im on {med} cn i drnk 2nite",
        "my docter sed my {lab} is 2 hi",
        "bp {bp} this mornin shud i worry",
        "insurence member id {member_id} claim got denyed",
        "hav {condition} n {symptom} since {weekday} pls hlp",
    ),
    "contextual": (
        "I think I'm having a panic attack right now, my chest is tight and my hands are shaking",
        "my {relative} was just told the cancer has spread to her liver; how do we tell the grandchildren",
        "I've been taking my {relative}'s {med_name} because I can't afford my own prescription",
        "I'm trans and just started hormones; how do I tell my manager at {company} I'll be changing my name",
        "I just got my HIV test back and it's positive, how do I tell my partner",
        "The biopsy came back and they want me to start chemo next week; how do I tell my kids?",
        "I've been self-harming again and I don't want my parents to find out",
        "my therapist thinks I have {condition}; should I tell my manager at {company}?",
        "I'm pregnant and haven't told anyone yet, not even my {relative}; when should I tell work?",
        "since my stroke in {month} I can't type well, help me write emails faster",
        "I've been sober for {n} days and my coworkers keep offering me drinks",
        "I had a miscarriage last week and need an email to my boss asking for time off without details",
        "the pills the psychiatrist gave me for my {condition} make me gain weight, what can I do",
        "my results came back and my sugar is way too high, the nurse said I'm diabetic now",
        "I'm on the waiting list for a kidney transplant at {hospital}; how do I ask my siblings to get tested",
        "I was sectioned last year and I'm worried it will show up when I apply for jobs",
        "after my vasectomy last {weekday} I have {symptom}, is that normal?",
    ),
    "topic": (
        "how long does it take to get an ADHD diagnosis as an adult",
        "what does a diagnosis of {condition} usually mean for day-to-day life",
        "can a diagnosis be removed from your medical record if it was wrong",
        "what is the difference between a diagnosis and a prognosis",
        "what should I ask my doctor at my annual check-up",
        "how do I read my blood test results",
        "how do I get a copy of my medical records",
        "how do I book an appointment with my GP online",
        "what are the side effects of {med_name}",
        "how do I know if I should see a doctor about {symptom}",
        "what does a blood test for {condition} involve",
        "what are metformin side effects",
        "what are the early symptoms of {condition}?",
        "how is {condition} diagnosed",
        "What's a normal HbA1c level?",
        "can you take {med_name} with ibuprofen",
        "how much sleep does an adult need",
        "what does a high TSH result usually mean",
        "explain the difference between type 1 and type 2 diabetes",
        "how do I find an in-network doctor with my insurance",
        "What is a normal resting heart rate for adults?",
        "how does HIV PrEP work",
        "what questions should I ask at my first therapy session",
        "is it safe to exercise with high blood pressure",
        "How long does {med_name} stay in your system?",
        "what vaccines are recommended before travelling to {country}",
    ),
    "false_keyword": (
        "{doc_context} uses '{ph_health}' in the example record - what do the fields mean?",
        "Write a {prog_lang} test for the discharge letter renderer with the dummy '{ph_name}' and '{ph_health}'.",
        "In the {framework} health app demo the patient is '{ph_name}'; generate 5 more obviously fake patients.",
        "How should I anonymise '{ph_health}'-style fields before sharing a dataset for research?",
        "Example HL7 message: PID|1||000000^^^MRN||DOE^JANE - what does each field mean?",
        "|Patient: <patient_name>\nDiagnosis: <ICD-10 code>\nMedication: <drug> <dose>\n\nDesign a clean template for discharge letters.",
        "In the FHIR tutorial the patient is 'John Doe, MRN 12345' - how do I load that sample bundle?",
        "Mock insurance card for the UI: Member ID XXXXXXXXX, Group 00000. Make the layout.",
        "The placeholder 'Diagnosis: lorem ipsum' shows up in production; find the bug in this template engine.",
        "The test patient in the EHR sandbox is called 'Test, Patient' - how do I query their labs through the API?",
        "Write unit tests for a BMI calculator using weight=70 and height=1.75 as example inputs.",
        "What does 'NHS number: 999 999 9999' mean in the developer docs? Is it a test number?",
        "Our health app demo uses 'Jane Doe, age 00, condition: N/A'; write better sample data without real people.",
    ),
    "typo_question": (
        "wat r side efects of {med_name}",
        "symtoms of {condition}??",
        "wats a normal hart rate 4 adults",
    ),
}

# location_network: 15 direct, 6 typo, 16 contextual, 22 topic, 15 false_keyword, 3 typo_question = 77
LOCATION_NETWORK: Templates = {
    "direct": (
        "my home address is {address}, please fill in the delivery form",
        "ship it to {name}, {address}",
        "I'm at {coords} right now, how far is the nearest hospital?",
        "our wifi is {ssid} and the password is {wifi_pass}; write it on a card for guests",
        "my home IP is {ipv4}, why can't I reach my NAS from outside?",
        "my laptop's MAC is {mac}; how do I whitelist it on the office router?",
        "I'm flying {flight} on {date}, booking ref {pnr}; do I need a visa?",
        "hotel confirmation {hotel_conf} at {hotel}, room {room}; write an email asking for late checkout",
        "|Name: {name}\nAddress: {address}\nDeliver between 9 and 5\n\nTurn this into a polite note for the courier.",
        "I live at {address}, what's the nearest bus stop?",
        "my work address is {address} and I work from home on Fridays; write an out-of-office reply",
        "Our router's public IPv6 is {ipv6} and I want to open port 22 to my home server.",
        "e-ticket {eticket}, PNR {pnr}, passenger {name} - change the seat to an aisle",
        "new address from {date}: {address}. Write a change-of-address email to my bank.",
        "Find restaurants near my flat at {address}.",
    ),
    "typo": (
        "my adress is {address} plz deliver tmrw",
        "wifi {ssid} passwrd {wifi_pass} 4 the guests",
        "im at {coords} cum pick me up",
        "bookin ref {pnr} flite {flight} can i chng it",
        "my hom ip iz {ipv4} y cant i conect",
        "sned it 2 {address} its my hous",
    ),
    "contextual": (
        "we live in the farmhouse at the end of the track off the {city} road, past {landmark}; tell the ambulance how to get here",
        "my daughter walks home from {landmark} alone at 4pm along {street} Street; is that route safe?",
        "I'm currently in the hotel bar at {hotel} and a man keeps staring at me, what should I do",
        "I work the night shift at the {company} depot behind {landmark}; my ex keeps showing up there",
        "fill in my home address, the {colour} house behind {landmark} on {street} Road",
        "I live in the flat above the {shop} on {street} Street in {city}; which council do I register with?",
        "send it to my work, the {company} office on the third floor, and ask for {first}",
        "I'm staying at {hotel} until {weekday}, room on the 4th floor; my ex doesn't know, keep it that way",
        "my kids get picked up from {landmark} near our house every day at 3; write a note for the new nanny with the route",
        "we're the last house on the left past {landmark} in {city}; tell the plumber how to find us",
        "I moved into a shelter near {landmark} in {city} to get away from my ex; how do I redirect my post",
        "I'm at my {relative}'s place, two streets behind {landmark} in {city}; order me a taxi home",
        "we're away from {date} for two weeks and the spare key is under the {colour} plant pot by the back door",
        "my {relative} lives alone in the bungalow next to {landmark} in {city}; write directions for the carer",
        "I'm flying home to {city} on the first flight tomorrow; pick me up at terminal 2 and don't tell {first2}",
        "the guest wifi is the one named after our surname, {last}, and the password is on the fridge; write that on the welcome card",
    ),
    "topic": (
        "how do I find my public IP address",
        "how do I change my address on my driving licence",
        "how do I hide my location on Snapchat",
        "my wifi is slow in the evenings, how do I fix it?",
        "how do I turn off location history on Android",
        "how do VPNs hide your IP address",
        "what is a mesh wifi system",
        "how do I find my router's IP",
        "what is the difference between IPv4 and IPv6",
        "how do I change my address with the DMV",
        "how does GPS calculate your position",
        "what's a MAC address used for",
        "how do I make my home wifi more secure",
        "how do I write an address on a letter to {country}",
        "What's a good way to share my location with family temporarily?",
        "how does geocoding work",
        "What is a PNR in airline booking?",
        "how do I find the postcode for a UK address",
        "what can a website learn from my IP address",
        "how far is {city} from {city2}",
        "best hotels near the airport in {city}",
        "how do I set a static IP on Ubuntu",
    ),
    "false_keyword": (
        "{doc_context} uses {ph_ip} and {ph_mac} in the network example - are those reserved values?",
        "Write a {prog_lang} function that validates addresses like '{ph_address}' and test it.",
        "The shipping form placeholder says '{ph_address}'; is that a good hint for international users?",
        "Why does my {framework} server bind to {ph_ip} instead of my public interface?",
        "Our geocoding tests use '{ph_address}' and coordinates 0,0 - what's a better fixture?",
        "In the tutorial they ship to '123 Main St, Anytown, USA' - how do I build that address form in {framework}?",
        "Use 192.168.1.1 to log into most routers; what's the usual default username?",
        '|```json\n{lb}"address": "<street>", "city": "<city>", "zip": "00000"{rb}\n```\nWrite a JSON schema for this.',
        "Documentation IPs: why do RFC examples use 203.0.113.0/24 and 198.51.100.7?",
        "The MAC 00:00:5E:00:53:01 appears in our docs - is it reserved for documentation?",
        "2001:db8::1 is in the sample config; what's the IPv6 documentation prefix?",
        "Booking reference XXXXXX and flight XX000 are placeholders in our email template; make it look nicer.",
        "Coordinates 0.0, 0.0 keep showing up in our dataset - what is Null Island?",
        'ssid="YOUR_SSID" and psk="YOUR_PASSWORD" in wpa_supplicant.conf - explain the file format',
        "Sample address for a UK form: 10 Downing Street, London SW1A 2AA. Is it fine as a demo value?",
    ),
    "typo_question": (
        "how 2 find my routr ip",
        "wats a mac adress 4",
        "how do i mak my wifi mor secur",
    ),
}

# account_profile: 14 direct, 6 typo, 16 contextual, 21 topic, 13 false_keyword, 3 typo_question = 73
ACCOUNT_PROFILE: Templates = {
    "direct": (
        "my instagram is {handle}, write a bio for it",
        "my username on {service} is {username}; can you work out why I'm locked out?",
        "account ID {account_id}, customer {name} - write to support about the double charge",
        "add my frequent flyer number {loyalty} to the booking",
        "Here's my LinkedIn: {linkedin}. Rewrite my headline.",
        "|{name}\n{job} at {company} ({y1}-{y2})\n{job2} at {company2} ({y2}-present)\n{university}\n\nTighten this CV section.",
        "I was a {job} at {company} from {y1} to {y2} and got let go; write a cover letter explaining the gap",
        "my Steam ID is {steam_id}, can you check my profile privacy settings?",
        "Discord: {discord}. Write a message inviting people to my server.",
        "I'm {name}, {age}, {job} in {city}, single, love hiking; write my dating profile",
        "customer number {account_id} at {bank}: ask them to close my account",
        "my github is {username} and my twitter is {handle}; add them to my portfolio footer",
        "Loyalty card {loyalty} - why didn't my points from {date} show up?",
        "profile: {name}, born {year}, {job}, lives in {city}, email {email}. write an 'about me'",
    ),
    "typo": (
        "my insta iz {handle} plz writ a bio",
        "usrname {username} got bannd on {service} halp",
        "acct id {account_id} dubble chargd",
        "frequnt flyer # {loyalty} add 2 bookin",
        "wrked @ {company} {y1}-{y2} as {job} make cv",
        "my @ is {handle} y did i loose folowers",
    ),
    "contextual": (
        "I run the anonymous {city} gossip account on {service}; if people find out it's me I'll lose my job",
        "I was a {job} at {company} until they found out about my conviction; how do I put that on my CV",
        "my {service} account still has my old name from before I transitioned; how do I change it without my family seeing",
        "my reviews on Glassdoor about {company} are the ones signed 'night-shift {job}'; will they know it's me",
        "my username is my name plus the year I graduated from {university}, I'm {first}; find my old forum posts",
        "my Instagram is the one with my cat as the profile picture, my first name and then some underscores; find my old posts",
        "I got fired from {company} last year for misconduct; how do I explain it in interviews?",
        "My {service} account is the one registered to my old university email; help me recover it",
        "I'm the {job} who was on the local news last month; write a LinkedIn post addressing it",
        "I have a second account on {service} that my husband doesn't know about; how do I hide the notifications",
        "I was on a performance improvement plan at {company} before I quit; should I mention it?",
        "I'm the only {job} at {company} in {city}, so everyone will know it's me; write an anonymous review anyway",
        "my gamer tag is my dog's name and the year I was born, {pet}{year}; has it been hacked?",
        "I lied on my CV about my degree from {university} and now HR wants the certificate; what do I do?",
        "use my profile from the job portal, the one where I listed {company} as my last employer",
        "I'm {age}, recently divorced, two kids, working nights as a {job}; write my dating bio",
    ),
    "topic": (
        "how do I make my LinkedIn profile private",
        "how do I change my display name on {service}",
        "should I put a photo on my CV",
        "how do I download all my data from {service}",
        "how do I stop my old tweets showing up in search",
        "what should I put in my GitHub profile README",
        "how do I merge two {service} accounts",
        "how do I make my Instagram account private",
        "how do I write a good LinkedIn headline",
        "what should I include in a CV for a {job} role",
        "How do I change my username on {service}?",
        "how do airline loyalty programmes work",
        "how do I explain a career gap in an interview",
        "How do I delete my {service} account permanently?",
        "what's the difference between a username and a display name",
        "is LinkedIn Premium worth paying for",
        "how do I recover a hacked {service} account",
        "tips for writing a dating profile",
        "what should a professional bio include",
        "how long should a CV be",
        "do frequent flyer miles expire",
    ),
    "false_keyword": (
        "{doc_context} shows the profile JSON with handle {ph_handle} and name '{ph_name}'; generate a TypeScript type for it.",
        "Write a {prog_lang} test that usernames like {ph_handle} pass validation.",
        "In the {framework} admin demo the account is '{ph_name}' / {ph_email}; how do I seed it only in dev?",
        "What is {lb}{lb} user.display_name {rb}{rb} replaced with when '{ph_name}' is the default?",
        "In the mockup the user is @username with display name 'Jane Doe'; design the profile card.",
        '|```json\n{lb}"user_id": "00000000-0000-0000-0000-000000000000", "handle": "@example"{rb}\n```\nIs a nil UUID fine for tests?',
        "Sample CV template: 'John Smith, Software Engineer at Company X (20XX-20XX)' - make it look more modern.",
        "The API docs return 'account_id': 'ACCOUNT_ID'; what type is it really?",
        "Placeholder profile: Lorem Ipsum, lives in Anytown, works at Acme Corp - generate 3 more fake ones.",
        "Our seed script creates user 'testuser' with loyalty number 0000000000; why does the unique index fail?",
        "What does {lb}{lb} user.handle {rb}{rb} render to in this Jinja template if the user has none?",
        "The example frequent flyer number in the docs is 'XX 123456789'; is that the right format?",
        "demo user: foo / profile id 123 / email foo@example.com - write fixtures for {framework}",
    ),
    "typo_question": (
        "how do i mak my insta privte",
        "how 2 delet {service} acount",
        "wat 2 put in cv 4 {job}",
    ),
}

# device_incident: 14 direct, 6 typo, 16 contextual, 21 topic, 13 false_keyword, 3 typo_question = 73
DEVICE_INCIDENT: Templates = {
    "direct": (
        "my laptop serial is {serial}, it was stolen yesterday; write the police report",
        "IMEI {imei} - my phone was stolen on the bus, help me report it to the carrier",
        "my car's VIN is {vin}, does it have any recalls?",
        "number plate {plate}: someone scratched my car in the {company} car park; write an incident report",
        "|{date} 23:14:07 Front Door unlocked by {first} (code {pin})\n{date} 23:15:40 Hallway motion detected\n{date} 02:03:11 Back door opened\n\nWas someone in my house?",
        "|Jan 14 02:13:44 home-router dnsmasq-dhcp[812]: DHCPACK(br0) {lan_ip} {mac} {first}s-iPhone\nJan 14 02:14:02 home-router kernel: DROP IN=eth0 SRC={ipv4}\n\nwhat is this device doing on my network at 2am?",
        "Incident report: on {date} our employee {name} was injured at the {company} warehouse when a pallet fell; write it up formally.",
        "my {device} with serial number {serial} won't turn on; write a warranty claim",
        "Write an insurance claim: my {car} (reg {plate}, VIN {vin}) was hit on {street} Road on {date}.",
        "On {date}, {name} from accounting was caught taking cash from the till; draft the disciplinary incident summary.",
        "my mum's smartwatch logged a fall at {time} yesterday and heart rate {heart_rate}; turn the log into a note for her doctor",
        "The doorbell camera at my place caught {name2} taking a parcel at {time} on {date}; write a message to the neighbours.",
        "Here's my phone's IMEI {imei} and serial {serial}; the shop says it's blacklisted, why?",
        "my kid's tablet ({device}, S/N {serial}) was confiscated at school on {date}; write to the head teacher",
    ),
    "typo": (
        "my lap top serail {serial} got stoln",
        "imei {imei} fone stolen on da bus",
        "car reg {plate} got hit n run",
        "vin iz {vin} any recals??",
        "sum1 took my {device} sn {serial} frm the gym",
        "polise report 4 stolen bike n my {device} sn {serial}",
    ),
    "contextual": (
        "my {relative} put a GPS tracker under my car, I found it taped behind the back bumper this morning",
        "someone broke into my {car_model} outside my flat on {street} Road and took my {device}; write the claim",
        "my work phone from {company} was left in a taxi last night and has client files on it",
        "our alarm went off at 4am and the camera shows someone in our back garden in {city}; write to the police",
        "my car is the silver {car_model} with the dented bumper usually parked outside {landmark}; the police asked me to describe it",
        "our smart lock logged someone entering at 3am while we were away in {city}; it's a code only my {relative} knows",
        "I crashed into a parked car on {street} Road last night and drove off; should I go to the police?",
        "my {device} was stolen from the cafe on {street} Street while I was in the loo, and it has all my work files",
        "my {relative} keeps tracking my phone with Find My; I can see their device in the list, how do I remove it without them noticing",
        "the baby monitor in my daughter's room started playing music by itself last night",
        "HR is investigating me after a complaint from {first2} about what happened at the Christmas party",
        "the school says my son hit another boy during break on {weekday}; help me write a reply to the head",
        "my ex still has access to our home cameras and watched me come home with someone last night",
        "I got a speeding ticket in my {relative}'s car but I was the one driving; how do I sort it out",
        "the office laptop I took home was stolen from my car in the {landmark} car park; how do I tell IT",
        "I had a minor accident on the way to {company} this morning, the other driver was {first2}; what do I tell my insurer",
    ),
    "topic": (
        "where is the IMEI on my phone",
        "my laptop won't turn on, what should I check first?",
        "where do I find my car's VIN",
        "how do I report my phone as lost to my carrier",
        "how do I report a stolen car in the UK",
        "how do I find my {device}'s serial number in settings",
        "what is a near-miss report at work",
        "where do I find the serial number on a {device}",
        "what's an IMEI and how do I check mine",
        "how do I decode a VIN",
        "What should an incident report include?",
        "how do I read router logs",
        "what should I do if my phone is stolen",
        "how do I check a used car's history before buying",
        "how do I factory reset a {device}",
        "How do smart locks keep access logs?",
        "what are the UK number plate formats",
        "How do I write a post-incident review for an outage?",
        "how does Find My iPhone work",
        "what does a DHCPACK line mean in dnsmasq logs",
        "what's the usual warranty on a {device}",
    ),
    "false_keyword": (
        "{doc_context} lists '{ph_device_id}' as the example device identifier - write a {prog_lang} validator test for it.",
        "Our asset-tracking fixtures all have serial {ph_device_id}; how do I make them unique in {framework}?",
        "|Incident template\nReporter: {ph_name}\nDevice: {ph_device_id}\nSummary: <what happened>\n\nMake this template friendlier.",
        "Why do tutorials use {ph_device_id} as the sample value?",
        "The example VIN in the docs is 1HGCM82633A004352 - write a validator in {prog_lang} that checks the check digit.",
        "IMEI 00-000000-000000-0 in the fixture fails validation; should the test use a Luhn-valid dummy?",
        "Log line template: `<timestamp> <hostname> sshd[<pid>]: Accepted password for <user> from <ip>` - write a parser.",
        "|Serial: XXXXXXXXXXXX\nModel: <model>\nPurchase date: YYYY-MM-DD\n\nDesign a warranty form layout.",
        "Incident report template: 'On [DATE], [EMPLOYEE NAME] reported [INCIDENT]' - improve the headings.",
        "Plate 'AB12 CDE' is the DVLA example format; is it okay in the demo?",
        "Our postmortem template uses 'Jane Doe (on-call)' as the placeholder; rewrite it.",
        "what does 'S/N: N/A' on a device label usually mean?",
        "sample syslog: 'Jan 1 00:00:00 localhost kernel: test message' - why doesn't rsyslog forward it?",
    ),
    "typo_question": (
        "were is the serail numbr on {device}",
        "wat 2 do if fone stolen",
        "how 2 decod a vin",
    ),
}

# media_content: 13 direct, 5 typo, 16 contextual, 21 topic, 13 false_keyword, 3 typo_question = 71
MEDIA_CONTENT: Templates = {
    "direct": (
        '|here\'s what my girlfriend texted me: "{chat_line}" - {first}\nis she mad at me?',
        "|[{time}] {first}: {chat_line}\n[{time2}] me: what do you mean\n[{time3}] {first}: you know exactly what I mean\n\nSummarise this chat and tell me how to reply.",
        "|From: {name} <{email}>\nTo: {name2} <{email2}>\nSubject: Re: the test results\n\n{first2}, I didn't want to tell you over the phone but the results came back. Call me.\n\nWrite a reply to this for me.",
        "|{exif}\n\nwhere was this photo taken?",
        "|{call_log}\n\nwho did I call the most this week?",
        "|My browser history from last night:\n{url_private}\n{url_private2}\n\nCan my employer see this?",
        "summarise this email my boss {name2} sent me: 'Hi {first}, after your review we're putting you on a performance plan starting {date}. Please don't discuss this with the team.'",
        "|WhatsApp chat with {name2}:\n{date}, {time} - {first2}: {chat_line}\n{date}, {time2} - {first}: ok\n\nTranslate this to {nat_lang}.",
        "my sister forwarded me this voicemail from her doctor: 'Hello {first}, this is {doctor}'s office, please call us about your scan from {date}' - what does it mean?",
        "this is the DM {handle} sent me: '{chat_line}'. Is it harassment?",
        "|Screenshot from my ex's phone:\n{first2}: {chat_line}\n{first}: {chat_line2}\n\nshould I confront him?",
        "Read this email from my lawyer and explain it: 'Dear {name}, the hearing regarding custody of {first2} is set for {date} at {city} family court.'",
        "|Photo metadata from my daughter's Instagram upload:\n{exif}\nCan strangers see where she lives?",
    ),
    "typo": (
        '|lst nite {first} txtd me "{chat_line}" wat dose she mean',
        '|my gf\'s msgs: "{chat_line}" is she cheatin??',
        "|call log:\n{call_log}\nwho is this numbr",
        '|emial frm my boss: "{first} ur on a pip frm {date}" wat do i do',
        "|hist0ry: {url_private} can my wife se this",
    ),
    "contextual": (
        "my {relative} sent me a voice message crying about her marriage; help me write back something comforting",
        "I screenshotted my {other}'s messages where she admits to stealing from the till; should I send them to HR",
        "my phone backed up the nude photos I took to the family iCloud; how do I delete them before anyone sees",
        "my boyfriend keeps reading my DMs with my therapist; how do I lock that chat",
        "my wife read my texts last night and found the messages from my ex; how do I explain",
        "I secretly recorded my boss yelling at me in our one-to-one on {weekday}; can I use it at the tribunal?",
        "I found my husband's browser history and he's been searching for divorce lawyers",
        "my daughter's selfie from the beach still has location on and she posted it from our holiday house",
        "I accidentally sent my {other} the screenshot of our group chat where we were talking about them",
        "My teenage son has been messaging an adult he met in a game; I read the chat on his phone, what should I do?",
        "I took a photo of my {relative}'s medical letter and it got uploaded to the shared family album",
        "my ex is threatening to post the videos we made together unless I pay; what do I do?",
        "I looked at the call log on my partner's phone and there are calls every night at 2am to the same number",
        "a colleague forwarded me the HR email about {first2}'s dismissal by mistake; what should I do with it",
        "my phone's photo map shows all the places I went with {first2}; how do I hide it from my husband",
        "the voice note my {relative} left says they're moving out because of dad; help me reply",
    ),
    "topic": (
        "how do I back up my photos to an external drive",
        "how do I delete my browsing history on Safari",
        "can my boss see my browser history on the office wifi?",
        "how do I save my WhatsApp chats before switching phones",
        "how do I turn off read receipts on WhatsApp",
        "how do I see which apps have access to my photos",
        "how do I delete my Google search history on my phone",
        "how do I clear my browser history in Chrome",
        "what is EXIF data in photos",
        "how do I remove the location from photos on iPhone",
        "how do I export a WhatsApp chat",
        "can my employer read my work emails?",
        "how long do phone carriers keep call logs",
        "How do I write a professional email declining a meeting?",
        "what is end-to-end encryption in messaging apps",
        "How do I back up my text messages to my computer?",
        "is it legal to record a phone call in {country}?",
        "How do I stop Google from saving my search history?",
        "how do I recover deleted photos on Android",
        "what metadata does an email header contain",
        "how does private browsing mode work",
    ),
    "false_keyword": (
        "{doc_context} has a sample email from {ph_name} <{ph_email}>; write a parser test in {prog_lang}.",
        "|Demo chat transcript:\n[09:00] {ph_handle}: hello world\n[09:01] bot: hi!\n\nWrite CSS for these bubbles.",
        "Generate a fake call log for a {framework} UI demo using only {ph_phone}-style numbers.",
        "Strip EXIF from uploads in {framework}; the test image has GPS 0,0 and camera 'Test Camera'.",
        "|Sample chat for the UI demo:\nAlice: hey, are we still on for lunch?\nBob: yes! 12:30 at the usual place\nMake the bubbles prettier.",
        "EXIF example in the docs: GPSLatitude 0 deg 0' 0.00\" N - why is it zero?",
        "|From: sender@example.com\nTo: recipient@example.com\nSubject: Test\n\nThis is a test message.\n\nWhy does my SMTP server reject it?",
        "call log fixture: '+1-555-0100, 00:00, 0m 00s' - generate 10 more like it",
        "Lorem ipsum dolor sit amet in the email body template; replace it with realistic copy for a shipping notification.",
        "Our browser-history test uses https://example.com/page1 ... page9; write a test that dedupes them.",
        "In the chat export format, what do the `[HH:MM] <user>: <message>` placeholders mean?",
        "write a fake text conversation between two cartoon robots for my kids' story",
        "what does 'Message from Jane Doe: Lorem ipsum' in the Slack API example payload mean?",
    ),
    "typo_question": (
        "how 2 clear browsr histry",
        "wat is exif data n is it bad",
        "can my boss reed my work emials",
    ),
}

# ancillary: 14 direct, 5 typo, 16 contextual, 21 topic, 13 false_keyword, 3 typo_question = 72
ANCILLARY: Templates = {
    "direct": (
        "my sister {first2} {last}, {age}, just got diagnosed with {condition}; help me write her a card",
        "my colleague {name2} is going through a divorce and is on {med}; how do I support her at work?",
        "Write a toast for my brother {first2}'s wedding: he met {name3} in rehab in {year} and they live in {city} now.",
        "my neighbour {name2} at number {n} is behind on rent and his wife left him; should I tell the landlord?",
        "my {relative} {first2} was arrested last week in {city} for drink driving; write a character letter for the court",
        "Help me write my dad's eulogy: {name2}, born {dob} in {city}, worked as a {job} at {company} for 30 years, died of {condition}.",
        "my {other} {name2} told me she's pregnant and hasn't told HR at {company}; should I cover for her?",
        "My friend {first2} from {city} owes me {amount} and just lost her job at {company}; write a gentle reminder.",
        "my daughter {first2} ({age}) has {condition} and is being bullied at school; write to the principal",
        "my {relative} {name2} lives alone at {address} and has {condition}; write a care plan for the new carer",
        "for my therapist: when I was {age} my {relative} {first2} hit me and my mother, {name3}, never left",
        "my coworker {name2} confided he's gay and not out to his family in {country}; how can I be supportive?",
        "Our tenant {name2} lost his job at {company} and is {n} weeks behind; draft a kind payment-plan letter.",
        "my {relative} {first2} got a DUI and lost their licence and now lives with us in {city}; write a family budget",
    ),
    "typo": (
        "my sis {first2} got diagnozed wth {condition} wat do i say",
        "my cowrker {first2} is goin thru a divorce n drinkin at wrk",
        "my bro {first2} got arestd in {city} last nite",
        "nabour {name2} owes rent n his wife left",
        "my mom {first2} has {condition} n lives alone halp",
    ),
    "contextual": (
        "my {relative} just came out to me and asked me not to tell our parents; how can I support them",
        "my {other} at {company} was diagnosed with cancer and asked me to tell the team for her; help me word it",
        "my neighbour's kids are left alone every night while she works; should I call social services",
        "my {relative} is secretly in debt from gambling and borrowed from my savings without asking",
        "my brother just lost his job and is drinking again; how do I talk to him without a fight",
        "my colleague confided she's having a miscarriage and asked me not to tell anyone; how do I cover her shifts",
        "my neighbour's son was arrested last week and the whole street is gossiping; what should I say to his mum",
        "my best friend told me her husband hits her, but she made me promise not to tell; what do I do",
        "my dad has been hiding from the rest of the family that his dementia is getting worse",
        "my {other} at {company} is secretly interviewing elsewhere and told me; now the boss asked me if I know anything",
        "my teenage daughter told me she's been cutting herself, what do I do first",
        "my {relative} is in prison in {city} and the kids at school don't know; how do I explain the visits",
        "my mum's new boyfriend has a criminal record and she doesn't know; should I tell her",
        "the {other} who sits next to me told me he's been living in his car since the eviction",
        "my uncle is undocumented and just got a letter from immigration; what should he do?",
        "our manager's wife has cancer and he asked us to keep it quiet; how do we organise support",
    ),
    "topic": (
        "how do I support my friend after a bad breakup",
        "my coworker seems stressed lately, how do I ask if they're okay?",
        "how do I tell my family I'm moving abroad",
        "how do I help my kids cope with a new sibling",
        "how do I comfort a friend whose parent is dying",
        "how do I set boundaries with a nosy relative",
        "how can I help a neighbour who seems lonely",
        "how do I support a friend going through a divorce",
        "what to say to someone who just lost their job",
        "how do I write a eulogy",
        "how can I help a colleague who seems burnt out",
        "How do I start a difficult conversation with a family member?",
        "what are the signs that someone is struggling with addiction",
        "How do I write a character reference letter for court?",
        "how to be a good listener when a friend confides in you",
        "what are healthy boundaries with coworkers",
        "how do I write a wedding toast",
        "how do you talk to kids about a relative in prison",
        "How should a manager respond when an employee shares a personal problem?",
        "what's a kind message to send someone who just had a miscarriage",
        "how do I plan a surprise party for my mum",
    ),
    "false_keyword": (
        "Write a short fable about {ph_name}, a made-up baker whose brother loses his shop, for a children's book.",
        "In {doc_context}, the persona '{ph_name}, 35, two kids' is fictional; write three more personas like it.",
        "The HR training scenario says '{ph_name} tells a colleague about a divorce' - write quiz questions about it.",
        "Create a fictional family tree for a novel: grandparents, three siblings, invented names and jobs.",
        "In the case study, 'Employee A' disclosed a medical condition to 'Manager B' - write discussion questions for HR training.",
        "Write a short story about a fictional family, the Does, whose son Johnny gets lost at the fair.",
        "The textbook example says 'John's sister Mary, 34, has diabetes' - rewrite it as a statistics word problem.",
        "placeholder eulogy template: '[Name] was born in [Year] in [Place] and loved [Hobby]' - improve it",
        "In Pride and Prejudice, how does Lydia's elopement affect the Bennet family?",
        "Create a fictional persona for UX research: 'Maria, 42, nurse, two kids, lives in a suburb', for a banking app.",
        "Jane Doe and John Roe are the standard placeholder litigants; where do the names come from?",
        "Summarise Ross's divorce storylines in the first three seasons of Friends.",
        "In the novel, the narrator's uncle hides a gambling debt from the family; what does it symbolise?",
    ),
    "typo_question": (
        "how 2 help a frend going thru divorce",
        "wat 2 say wen sum1 loses there job",
        "how do i rite a eulogy",
    ),
}

TEMPLATES: dict[str, Templates] = {
    "contact": CONTACT,
    "identification": IDENTIFICATION,
    "financial": FINANCIAL,
    "authentication": AUTHENTICATION,
    "health": HEALTH,
    "location_network": LOCATION_NETWORK,
    "account_profile": ACCOUNT_PROFILE,
    "device_incident": DEVICE_INCIDENT,
    "media_content": MEDIA_CONTENT,
    "ancillary": ANCILLARY,
}

# generic negatives: 130 chat-style requests + 58 raw developer-prose lines = 188
GENERIC_CHAT: tuple[str, ...] = (
    "Summarise this in two sentences: {paragraph}",
    "Translate to {nat_lang}: {paragraph}",
    "Make this more concise without losing facts: {paragraph}",
    "my {prog_lang} script is really slow on large files, what are the usual culprits?",
    "help me plan my trip to {city} in {month}, I like museums and street food",
    "my cat keeps scratching the sofa, how do I stop it",
    "I'm learning {nat_lang}; give me a 30-day study plan",
    "my son needs help with fractions homework, explain 3/4 + 2/3 simply",
    "my sourdough didn't rise overnight, what went wrong?",
    "I want to get better at public speaking, where do I start?",
    "my tomato plants have yellow leaves, why?",
    "help me write my essay introduction about {topic}",
    "my team wants to move from {framework} to {framework2}; list the pros and cons",
    "I have an interview for a {job} role next week; what questions should I prepare for?",
    "my laptop fan is loud when I run Docker, is that normal?",
    "I'm bored, suggest a board game for four players",
    "write a {prog_lang} function that reverses a linked list",
    "how do I read a CSV file in {prog_lang}?",
    "explain the difference between a list and a tuple in Python",
    "what's the time complexity of quicksort in the worst case",
    "Can you refactor this to use async/await? `def fetch(url): return requests.get(url).json()`",
    "why does my {framework} app return 404 on every route",
    "write a SQL query to find the top {n} customers by revenue",
    "how do I center a div with flexbox",
    "Explain {topic} like I'm ten.",
    "summarise {topic} in three bullet points",
    "give me a recipe for {dish} for {n} people",
    "what can I use instead of eggs in {dish}?",
    "translate 'where is the train station' into {nat_lang}",
    "how do you say 'thank you very much' in {nat_lang}",
    "what's {n2} times {n}?",
    "solve for x: {n}x + {n2} = {big}",
    "what's the derivative of x^{n} * sin(x)",
    "write a haiku about a {animal}",
    "write a short poem about autumn in {city}",
    "what's the capital of {country}",
    "when is the best time of year to visit {country}?",
    "plan a 3-day itinerary for {city}",
    "what currency do they use in {country}",
    "who was the first emperor of Rome",
    "when did the Berlin Wall fall and why",
    "tell me five fun facts about the {animal}",
    "write a birthday message for a coworker I don't know well",
    "Draft a polite email declining a meeting invitation.",
    "give me 5 name ideas for a bakery in {city}",
    "explain the rules of cricket simply",
    "how many kilometres is {n} miles",
    "why does water boil at a lower temperature at altitude?",
    "suggest a beginner workout routine, three days a week",
    "Write a cover letter template for a {job} position.",
    "What's a good sci-fi book similar to Dune?",
    "Explain git rebase vs merge.",
    "how do I undo the last commit in git without losing changes",
    "write a bash one-liner to count lines in all .py files",
    "regex to match a date in YYYY-MM-DD format",
    "what does idempotent mean for REST APIs",
    "how do I set up a virtualenv on Windows",
    "write unit tests for a function that adds two numbers in {prog_lang}",
    'convert this JSON to YAML: {lb}"name": "app", "replicas": {n}{rb}',
    "Explain Big-O notation with examples.",
    "What's the difference between TCP and UDP?",
    "how does a hash map work internally",
    "make this sentence more formal: 'we gotta ship this by friday'",
    "proofread: 'Their going to the park tomorow with there dog.'",
    "write a limerick about a cat who loves {dish}",
    "list the planets in order from the sun",
    "how many calories are in a banana",
    "how do I grow tomatoes on a balcony",
    "what's the difference between affect and effect",
    "give me a synonym for 'important' that sounds less formal",
    "how do I make cold brew coffee at home",
    "what are the main exports of {country}",
    "roughly what's the population of {city}",
    "help me name my {animal} plushie",
    "tell me a joke about programmers",
    "explain the Pythagorean theorem with a drawing in ASCII",
    "how do I calculate a 15% tip on {n2} dollars",
    "convert {n} degrees Celsius to Fahrenheit",
    "what is the difference between weather and climate",
    "how do I write a good thesis statement",
    "create a two-week study schedule for final exams",
    "suggest a name for a {prog_lang} library that parses dates",
    "Compare {framework} and {framework2} for a small team.",
    "How does {framework} handle dependency injection?",
    "Write a docker-compose file with postgres and redis services.",
    "how do I configure logging in {framework}",
    "what's the best way to paginate a REST API",
    "explain the OAuth 2.0 authorization code flow step by step",
    "write a short story about a robot learning to paint",
    "What were the main causes of World War I?",
    "who painted the Sistine Chapel ceiling",
    "explain the plot of Hamlet in five sentences",
    "how fast is the speed of light in km/s",
    "how do aeroplanes stay in the air",
    "give me a packing list for a week in {country} in {month}",
    "what's the etiquette for tipping in {country}?",
    "How do I say 'I would like a coffee, please' in {nat_lang}?",
    "translate this to {nat_lang}: 'The meeting has been moved to Thursday.'",
    "write a product description for a bamboo toothbrush",
    "brainstorm blog post ideas about {topic}",
    "make a shopping list for {dish}",
    "how long do I boil an egg for a runny yolk",
    "What's the difference between baking soda and baking powder?",
    "write a motivational quote for a Monday morning",
    "explain recursion with a simple example in {prog_lang}",
    "how do I profile slow {prog_lang} code",
    "What's a monad, in plain English?",
    "write a regex that matches hex colour codes",
    "how do I merge two dictionaries in Python",
    "what is the difference between == and === in JavaScript",
    "how do I handle errors idiomatically in Go",
    "explain ownership and borrowing in Rust",
    "write a Makefile with build, test and lint targets",
    "How do I write a GitHub Actions workflow that runs pytest on every push?",
    "pls explain how to make a pivot table in excel",
    "Kindly suggest a good gift for my boss's retirement",
    "i need 3 ideas for team-building activities that aren't cringe",
    "What does the idiom 'break the ice' mean?",
    "write a tweet announcing our new {prog_lang} SDK",
    "how do I stop procrastinating on big projects",
    "what's the difference between a virus and a bacterium",
    "which is heavier, a kilo of feathers or a kilo of steel",
    "write a lullaby about the moon and a sleepy {animal}",
    "explain what an API is to a non-technical manager",
    "What are some vegetarian sources of protein?",
    "make a weekly meal plan for two people under $60",
    "how does a bill become law in the US",
    "what's the history of {dish}?",
    "Can you quiz me on {nat_lang} vocabulary for beginners?",
    "help me write a speech for a school assembly about kindness",
)
GENERIC_RAW: tuple[str, ...] = (
    "|{paragraph}\n\nRewrite this in simpler English.",
    "|```\n{code}\n```\nWhat's wrong with this code?",
    "|Can you review this?\n\n```\n{code}\n```",
    "|Explain line by line:\n{code}",
    "|Here are the meeting notes:\n- roadmap review moved to {weekday}\n- design doc for the search service is due in {n} days\n- we agreed to deprecate the v1 endpoints\n- {n2} open bugs, triage on Friday\n\nTurn these into an email to the team.",
    "|## Contributing\n\n1. Fork the repository and create a branch from `main`.\n2. Install the dev dependencies with `make install`.\n3. Run `make lint test` before opening a pull request.\n4. Describe the change and link the issue it fixes.\n\nTranslate this section to {nat_lang}.",
    '|Traceback (most recent call last):\n  File "/srv/app/worker.py", line {n2}, in run\n    result = task.execute()\n  File "/srv/app/tasks.py", line {n}, in execute\n    return self.client.fetch(self.url, timeout=self.timeout)\n  File "/usr/lib/python3.11/site-packages/httpx/_client.py", line 1014, in fetch\n    raise ReadTimeout(message) from exc\nhttpx.ReadTimeout: timed out\n\nwhy does this happen only under load?',
    "|### Authentication\n\nAll requests must include an `Authorization` header. Tokens are issued by `POST /oauth/token` and expire after one hour; refresh them with the refresh token you received at login. Never embed tokens in client-side code or commit them to version control.\n\nIs this documentation complete?",
    "|Fix off-by-one error in pagination when page size equals total count",
    "|feat(cli): add --dry-run flag to the deploy command",
    "|chore(deps): bump {framework} to {version}",
    "|docs: explain how to set the API key through an environment variable",
    "|Refactor token refresh logic into its own module; no behaviour change.",
    "|## Changelog\n\n### {version}\n- Added support for {prog_lang}\n- Fixed a crash when the config file is missing\n- Passwords are now hashed with argon2id by default",
    "|### Configuration\n\nSet `api_key` in `config.toml` or export `APP_API_KEY`. The key is read at startup and never logged.",
    "|The `password` field is write-only: it is accepted on create and update but never returned by the API.",
    "|`GET /v1/users/{lb}id{rb}` returns the user object. Requires a bearer token with the `users:read` scope.",
    "|Nit: this variable shadows the builtin `id`; consider renaming it to `user_id`.",
    "|LGTM, but can we add a test for the empty-list case before merging?",
    "|Review: the retry loop never backs off, so a server that is down gets hammered. Suggest exponential backoff with jitter.",
    '|Traceback (most recent call last):\n  File "app.py", line {n2}, in <module>\n    main()\n  File "app.py", line {n}, in main\n    config = load_config(path)\nKeyError: \'database_url\'\n\nwhat does this mean?',
    "|error[E0502]: cannot borrow `items` as mutable because it is also borrowed as immutable - explain this Rust error",
    "|TypeError: Cannot read properties of undefined (reading 'map') - how do I fix this in React?",
    "|psycopg.OperationalError: connection failed: FATAL: password authentication failed for user - what are the usual causes?",
    "|npm ERR! code ERESOLVE unable to resolve dependency tree - what do I do?",
    "|java.lang.NullPointerException at com.example.OrderService.process(OrderService.java:{n2}) - how do I debug this?",
    "|fatal: Authentication failed for 'https://github.com/org/repo.git/' - how do I set up git with a personal access token?",
    "|## Installation\n\n```\npip install mypackage\n```\n\nThen run `mypackage init` to create a config file.\n\nRewrite this README section to be clearer.",
    "|The session cookie is marked HttpOnly and Secure; tokens expire after {n} minutes of inactivity. Proofread this paragraph.",
    "|# TODO: move the secret out of settings.py into an environment variable\n\nIs this comment clear enough for the team?",
    "|Deprecation notice: the `auth_token` parameter will be removed in v{n}.0; use `credentials` instead.",
    "|Rate limits: each API key may make {n2} requests per minute. Exceeding the limit returns HTTP 429.",
    "|Explain this log line: `WARN [main] HikariPool-1 - idleTimeout is close to or more than maxLifetime, disabling it.`",
    "|kubectl get pods shows CrashLoopBackOff for my api deployment - where do I start?",
    "|Merge pull request #{n2} from feature/password-reset-flow",
    '|Revert "Store session tokens in Redis"\n\nThis reverts commit {hex7}.',
    "|Security: rotate credentials regularly and never paste secrets into issue trackers or chat.",
    "|ValueError: invalid literal for int() with base 10: 'abc' - why?",
    "|The CLI reads credentials from ~/.config/tool/credentials.json; see `tool login --help`.",
    "|Breaking change: the environment variable `DB_PASS` is renamed to `DATABASE_PASSWORD`.",
    "|Summarise this PR description: 'Adds OAuth login with Google and GitHub, removes the legacy password reset endpoint, and updates the docs.'",
    "|Write a commit message for: renamed getUser to fetchUser and added caching",
    "|SSL: CERTIFICATE_VERIFY_FAILED when calling an HTTPS API from Python - what does it mean?",
    "|Docstring: 'Returns the number of active sessions for the given account. Raises NotFound if the account does not exist.' Improve it.",
    "|API docs: 'Pass your API key in the X-API-Key header. Keys can be created and revoked from the dashboard.' Is this clear?",
    "|No 'Access-Control-Allow-Origin' header is present on the requested resource - how do I fix CORS in {framework}?",
    "|segmentation fault (core dumped) when freeing a linked list in C - common causes?",
    "|Release notes {version}: faster startup, fewer dependencies, and a new `--verbose` flag.",
    "|test_login_rejects_wrong_password is flaky on CI since we moved to {framework}; any idea why a fixture would leak between tests?",
    "|WARNING: Retrying (Retry(total={n}, connect=None, read=None)) after connection broken by 'ReadTimeoutError' - pip keeps doing this",
    "|Suggestion: extract the credential lookup into a `SecretStore` protocol so tests can inject a fake.",
    '|mypy: error: Incompatible return value type (got "Optional[str]", expected "str") - how do I fix it properly?',
    "|The `--token` option overrides the token from the config file; if neither is set, the command exits with status 2.",
    "|fix: don't log the Authorization header at debug level",
    "|perf: cache compiled regexes in the tokenizer ({n}% faster on the benchmark)",
    "|Code review: `except Exception: pass` swallows the error that tells users their key expired. Please re-raise or log it.",
    "|OSError: [Errno 98] Address already in use - how do I find what's using port {big}?",
    "|Explain what this cron line does: `*/{n} * * * * /usr/local/bin/backup.sh >> /var/log/backup.log 2>&1`",
)
GENERIC: tuple[str, ...] = GENERIC_CHAT + GENERIC_RAW + EXTRA_GENERIC

# The breadth added in round 3 (training/privacy/breadth.py) and the everyday, typo'd
# and historical-people negatives of round 4 (training/privacy/everyday.py), kind by kind.
for _added in (EXTRA, EVERYDAY):
    for _category, _extra in _added.items():
        for _kind, _templates in _extra.items():
            TEMPLATES[_category][_kind] = TEMPLATES[_category].get(_kind, ()) + _templates


# ---------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------

# Minimum rows per bucket; `per_template` rows per template apply above them.
FLOORS: dict[str, int] = {
    "direct": 155,
    "typo": 260,
    "contextual": 155,
    "topic": 150,
    "false_keyword": 100,
    "typo_question": 250,
}
GENERIC_FLOOR = 2600
GENERIC_TYPO_FLOOR = 120
_NATIVE = "~"
_RAW = "|"


def template_count() -> int:
    """Distinct templates across every section (native typo templates included)."""
    every: list[str] = list(GENERIC)
    for templates in TEMPLATES.values():
        for kind in sorted(templates):
            every.extend(templates[kind])
    return len(dict.fromkeys(every))


def _make_text(r: Random, template: str, obfuscate: bool, frame: float) -> str:
    native = template.startswith(_NATIVE)
    template = template.removeprefix(_NATIVE)
    raw = template.startswith(_RAW)
    text = Fill(r).render(template.removeprefix(_RAW))
    if not raw:
        text = register(text, r, frame)
    if obfuscate:
        if not native:
            text = typo(text, r)
        elif r.random() < 0.4:
            text = typo(text, r, strength=0.4)
    return text.strip()


def _fill_bucket(
    r: Random,
    templates: Sequence[str],
    target: int,
    seen: set[str],
    obfuscate: bool,
    frame: float,
) -> list[str]:
    """Round-robin over the templates, fresh values each time, until `target` unique texts."""
    order = list(templates)
    r.shuffle(order)
    out: list[str] = []
    attempts = 0
    limit = target * 40
    i = 0
    while len(out) < target and attempts < limit:
        template = order[i % len(order)]
        i += 1
        attempts += 1
        text = _make_text(r, template, obfuscate, frame)
        if not text or text in seen:
            continue
        seen.add(text)
        out.append(text)
    return out


@dataclass(frozen=True)
class _Bucket:
    category: str
    kind: str
    sources: tuple[str, ...]
    target: int
    obfuscate: bool


def _buckets(per_template: int) -> list[_Bucket]:
    out: list[_Bucket] = []
    for category in CATEGORIES:
        t = TEMPLATES[category]
        natives = tuple(_NATIVE + x for x in t["typo"])
        natives_q = tuple(_NATIVE + x for x in t["typo_question"])

        def target(kind: str, n: int) -> int:
            return max(FLOORS[kind], per_template * n)

        out += [
            _Bucket(category, "direct", t["direct"], target("direct", len(t["direct"])), False),
            # native typo templates, and every direct template obfuscated programmatically
            _Bucket(category, "typo", natives + t["direct"], target("typo", len(natives)), True),
            _Bucket(
                category,
                "contextual",
                t["contextual"],
                target("contextual", len(t["contextual"])),
                False,
            ),
            _Bucket(category, "topic", t["topic"], target("topic", len(t["topic"])), False),
            _Bucket(
                category,
                "false_keyword",
                t["false_keyword"],
                target("false_keyword", len(t["false_keyword"])),
                False,
            ),
            _Bucket(
                category,
                "typo_question",
                natives_q + t["topic"],
                target("typo_question", len(natives_q)),
                True,
            ),
        ]
    out.append(
        _Bucket("none", "generic", GENERIC, max(GENERIC_FLOOR, per_template * len(GENERIC)), False)
    )
    out.append(_Bucket("none", "typo_question", GENERIC_CHAT, GENERIC_TYPO_FLOOR, True))
    return out


def generate(seed: int = 20261202, per_template: int = 7) -> list[Row]:
    """The corpus: every category x kind bucket, shuffled; identical for identical arguments.

    Each bucket gets `per_template` rows per template, or its floor (FLOORS) if that is more.
    """
    seen: set[str] = set()
    rows: list[Row] = []
    for b in _buckets(per_template):
        sensitive = b.kind in POSITIVE_KINDS
        frame = FRAME_POSITIVE if sensitive else FRAME_NEGATIVE
        r = Random(f"{seed}/{b.category}/{b.kind}")
        for text in _fill_bucket(r, b.sources, b.target, seen, b.obfuscate, frame):
            rows.append(Row(text, sensitive, b.category, b.kind))
    Random(f"{seed}/shuffle").shuffle(rows)
    return rows


def stats_table(rows: Sequence[Row]) -> str:
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        counts[(row.category, row.kind)] = counts.get((row.category, row.kind), 0) + 1
    cats = (*CATEGORIES, "none")
    width = max(len(c) for c in cats) + 2
    header = "category".ljust(width) + "".join(k.rjust(15) for k in KINDS) + "total".rjust(8)
    lines = [header, "-" * len(header)]
    for cat in cats:
        cells = [counts.get((cat, k), 0) for k in KINDS]
        lines.append(
            cat.ljust(width) + "".join(str(c).rjust(15) for c in cells) + str(sum(cells)).rjust(8)
        )
    totals = [sum(counts.get((c, k), 0) for c in cats) for k in KINDS]
    lines.append("-" * len(header))
    lines.append(
        "total".ljust(width) + "".join(str(c).rjust(15) for c in totals) + str(sum(totals)).rjust(8)
    )
    positives = sum(1 for row in rows if row.sensitive)
    lines.append("")
    lines.append(
        f"rows: {len(rows)}  positive: {positives} ({positives / max(len(rows), 1):.1%})  templates: {template_count()}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the synthetic privacy training corpus as JSON lines."
    )
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--per-template", type=int, default=7)
    parser.add_argument(
        "--stats", action="store_true", help="print counts per category x kind instead of rows"
    )
    args = parser.parse_args(argv)
    rows = generate(seed=args.seed, per_template=args.per_template)
    out = sys.stdout.buffer
    if args.stats:
        out.write((stats_table(rows) + "\n").encode("utf-8"))
    else:
        for row in rows:
            record = {
                "text": row.text,
                "sensitive": row.sensitive,
                "category": row.category,
                "kind": row.kind,
            }
            out.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
