"""Analysis: why a rollout failed, in plain language.

    rules.classify(raw) -> Classification              deterministic, no I/O
    rules.analyze_with_rules(raw, classification) -> Analysis
    chains.analyze(raw, reduced, rules_analysis=…, classification=…, llm=…) -> Analysis

The rules always run; the chains (the only LangChain import, loaded lazily) may improve the text
and fall back to the rules' answer on any failure. Families are listed in `families`.
"""
