"""The lower bound: fetch every URL once with one keep-alive httpx.Client, hash the body."""

import hashlib
import sys

import httpx

urls = open(sys.argv[1], encoding="utf-8").read().split()
digests = set()
with httpx.Client(timeout=30) as client:
    for url in urls:
        digests.add(hashlib.sha256(client.get(url).content).hexdigest())
print(len(urls), len(digests))
