"""A skill taxonomy: canonical names and the ways postings write them. Used by the deterministic
extractor to find skills, and to put every skill (a model's too) under one canonical name."""

from __future__ import annotations

import re
from functools import lru_cache

# canonical name -> aliases (case-insensitive, matched as whole tokens). The canonical name is an alias too.
TAXONOMY: dict[str, tuple[str, ...]] = {
    # languages
    "Python": ("python3",), "Java": (), "JavaScript": ("js", "ecmascript"), "TypeScript": (),
    "Go": ("golang",), "Rust": (), "C++": ("cpp",), "C#": ("csharp", "c sharp"),
    "C": ("c programming", "ansi c", "embedded c"),
    "Ruby": (), "PHP": (), "Kotlin": (), "Swift": (), "Scala": (), "Elixir": (), "Erlang": (),
    "Haskell": (), "Clojure": (), "R": ("r programming", "rstudio", "r language"), "Julia": (), "Dart": (), "Lua": (), "Perl": (),
    "Objective-C": ("objective c", "objc"), "SQL": (), "Bash": ("shell scripting",), "Solidity": (),
    # web and frameworks
    "React": ("react.js", "reactjs"), "Vue.js": ("vue", "vuejs"), "Angular": ("angularjs",),
    "Svelte": ("sveltekit",), "Next.js": ("nextjs",), "Node.js": ("Node", "nodejs"),
    "Django": (), "Flask": (), "FastAPI": (), "Litestar": (), "Spring": ("spring boot",),
    "Ruby on Rails": ("Rails", "RoR"), "Laravel": (), "Symfony": (), ".NET": ("dotnet", "asp.net"),
    "Express": ("express.js", "expressjs"), "GraphQL": (), "REST": ("rest api", "restful"), "gRPC": (),
    "HTML": ("html5",), "CSS": ("css3",), "Tailwind CSS": ("tailwind", "tailwindcss"), "Redux": (),
    "jQuery": (), "Flutter": (), "React Native": (), "SwiftUI": (), "Jetpack Compose": (),
    # data stores
    "PostgreSQL": ("postgres", "psql"), "MySQL": (), "MariaDB": (), "SQLite": (), "MongoDB": ("mongo",),
    "Redis": (), "Elasticsearch": ("elastic search", "opensearch"), "Cassandra": (), "DynamoDB": (),
    "Snowflake": (), "BigQuery": (), "Redshift": (), "ClickHouse": (), "Oracle": (), "SQL Server": ("mssql",),
    "Neo4j": (), "pgvector": (),
    # data and ML
    "Kafka": ("apache kafka",), "RabbitMQ": (), "Spark": ("apache spark", "pyspark"), "Airflow": ("apache airflow",),
    "dbt": (), "Pandas": (), "NumPy": (), "scikit-learn": ("sklearn",), "PyTorch": (), "TensorFlow": (),
    "Keras": (), "Machine Learning": ("ML",), "Deep Learning": (), "NLP": ("natural language processing",),
    "Computer Vision": (), "LLM": ("llms", "large language models"), "Data Analysis": (),
    "Tableau": (), "Power BI": ("powerbi",), "Excel": (), "ETL": (), "Hadoop": (),
    # infrastructure
    "AWS": ("amazon web services",), "GCP": ("google cloud", "google cloud platform"), "Azure": ("microsoft azure",),
    "Docker": (), "Kubernetes": ("k8s",), "Terraform": (), "Ansible": (), "Helm": (), "Linux": (),
    "CI/CD": ("ci / cd", "continuous integration"), "GitHub Actions": (), "GitLab CI": (), "Jenkins": (),
    "Git": (), "Nginx": (), "Prometheus": (), "Grafana": (), "Datadog": (), "Serverless": (),
    "Microservices": ("microservice",), "DevOps": (), "SRE": ("site reliability engineering",),
    "Cybersecurity": ("infosec", "information security"), "OAuth": ("oauth2",),
    # practices and product
    "Agile": (), "Scrum": (), "TDD": ("test-driven development",), "Unit Testing": (),
    "System Design": (), "Distributed Systems": (), "Figma": (), "UX Design": ("UX",), "UI Design": (),
    "Product Management": (), "Project Management": (), "Jira": (), "SEO": (), "Salesforce": (),
    "SAP": (), "Embedded Systems": ("embedded software",), "FPGA": (), "Verilog": (), "Unity": (), "Unreal Engine": (),
    "Blockchain": (), "Web3": (),
}

# Aliases that are skills only when written exactly like this (others match case-insensitively).
CASE_SENSITIVE = {"Go", "Swift", "Rust", "Spring", "Express", "Unity", "Git", "Excel", "Oracle", "REST",
                  "Scrum", "Agile", "Helm", "Serverless", "Dart", "Julia", "Node", "Rails", "RoR", "ML", "UX",
                  "SAP", "SEO", "Redux", "Spark", "Keras", "Flask", "Elixir", "Lua", "Perl", "Kotlin", "Scala",
                  "Ruby", "Java", "Unreal Engine", "SQL", "ETL", "SRE", "TDD", "LLM", "NLP", "dbt", "Bash"}
# Canonical names too ambiguous to match alone in running text ("C" in "Series C", "R" in "R&D");
# their aliases still match, and a model's answer naming them is still understood.
NO_BARE_MATCH = {"C", "R"}
NOT_AFTER = {"Go": r"(?!\s+(?:to|live|beyond|further|ahead)\b)(?!-)"}


def _alias_pattern(alias: str, canonical: str) -> str:
    body = re.escape(alias).replace(r"\ ", r"\s+")
    tail = NOT_AFTER.get(alias, "")
    return rf"(?<![\w+#.\-])(?:{body})(?![\w+#]|\.\w){tail}"


@lru_cache(maxsize=1)
def _matchers() -> list[tuple[str, re.Pattern[str]]]:
    out: list[tuple[str, re.Pattern[str]]] = []
    for canonical, aliases in TAXONOMY.items():
        for alias in (canonical, *aliases):
            if alias in NO_BARE_MATCH:
                continue
            flags = 0 if alias in CASE_SENSITIVE else re.IGNORECASE
            out.append((canonical, re.compile(_alias_pattern(alias, canonical), flags)))
    return out


@lru_cache(maxsize=1)
def _by_alias() -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, aliases in TAXONOMY.items():
        for alias in (canonical, *aliases):
            table[alias.lower()] = canonical
    return table


def find_skills(text: str) -> list[str]:
    """Canonical skills mentioned in `text`, in order of first mention."""
    found: list[tuple[int, str]] = []
    for canonical, pattern in _matchers():
        match = pattern.search(text)
        if match:
            found.append((match.start(), canonical))
    seen: set[str] = set()
    ordered = []
    for _, canonical in sorted(found):
        if canonical not in seen:
            seen.add(canonical)
            ordered.append(canonical)
    return ordered


def canonical_skill(name: str) -> str | None:
    """The canonical name of a skill written as `name`; an unknown skill is kept, tidied; None if empty."""
    cleaned = " ".join(name.split()).lstrip(" -*•").rstrip(" .,;:")
    if not cleaned:
        return None
    return _by_alias().get(cleaned.lower(), cleaned[:80])


def normalize_skills(names: list[str]) -> list[str]:
    """Canonical names, deduplicated case-insensitively, order kept."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        skill = canonical_skill(name)
        if skill is not None and skill.lower() not in seen:
            seen.add(skill.lower())
            out.append(skill)
    return out
