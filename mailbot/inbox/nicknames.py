"""Common English (and a few Spanish) given-name nicknames, as data.

Each line is one family of interchangeable names; a name may sit in several families
("pat" is Patrick or Patricia, "harry" is Harold or Henry). Edit freely: it is only read
through `nickname_families()`. Lower case, ASCII (accents are stripped before lookup).
"""
from __future__ import annotations

from functools import lru_cache

_FAMILIES = """
robert bob bobby rob robbie bert
william bill billy will willy liam
michael mike mikey mick mickey
james jim jimmy jamie
elizabeth liz lizzie beth betty eliza betsy libby lisa
richard rick ricky dick rich richie
thomas tom tommy
joseph joe joey
charles charlie chuck chas
christopher chris kit topher
christine christina chris tina chrissy
daniel dan danny
david dave davey
edward ed eddie ted ned
edwin ed eddie
anthony tony
andrew andy drew
steven stephen steve stevie
matthew matt matty
nicholas nick nicky
patrick pat paddy
patricia pat patty tricia trish
peter pete
samuel sam sammy
samantha sam sammie
benjamin ben benny
john jon johnny jack
jonathan jon jonny nathan
nathan nathaniel nate nat
katherine catherine kathryn kathleen kate katie kathy cathy kat kitty
margaret maggie meg peggy marge madge
jennifer jen jenny
rebecca becky becca
susan sue susie suzanne
deborah debra deb debbie
kimberly kim
alexander alex al sandy xander
alexandra alex lexi sandra sandy
gregory greg
jeffrey geoffrey jeff geoff
kenneth ken kenny
lawrence laurence larry
raymond ray
ronald ron ronnie
donald don donnie
douglas doug
gerald jerry gerry
jeremy jerry
timothy tim timmy
victoria vicky vickie tori
zachary zach zack
frederick fred freddie freddy
harold hal harry
henry hank harry hal
jacob jake
joshua josh
leonard leo len lenny
philip phillip phil
walter walt wally
albert al bert
alan allan allen al
francis frank frankie fran
franklin frank
eugene gene
abigail abby abbie gail
dorothy dot dottie dolly
teresa theresa terri tess tessa
pamela pam
cynthia cindy
jessica jess jessie
amanda mandy
barbara barb babs
gabriel gabe
vincent vince vinny
mitchell mitch
russell russ
terrence terence terry
wesley wes
manuel manny
jose pepe
francisco paco pancho frank
roberto beto
alejandro alex
enrique kike
""".strip()


@lru_cache(maxsize=1)
def nickname_families() -> dict[str, frozenset[int]]:
    """name → the indices of the families it belongs to."""
    families: dict[str, set[int]] = {}
    for index, line in enumerate(_FAMILIES.splitlines()):
        for name in line.split():
            families.setdefault(name, set()).add(index)
    return {name: frozenset(ids) for name, ids in families.items()}


def same_given_name(a: str, b: str) -> bool:
    """True when a and b are the same name or nicknames of one another (lower-case ASCII)."""
    if a == b:
        return True
    families = nickname_families()
    return bool(families.get(a, frozenset()) & families.get(b, frozenset()))
