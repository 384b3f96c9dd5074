"""The generated corpus: what each certificate prints, and — written by hand — what must be read from it.

`expect` holds the truth a careful admin would enter: hours in clock hours, completion date,
whether it needs review. A list in `expect` means one result per certificate in the file.
Forms: pdf (text layer), spaced (letter-spaced text), rotate90/180/270 (/Rotate pages drawn upright),
sideways (text drawn up the page with no /Rotate),
scan (image-only PDF, skewed, specks), photo_jpeg / photo_png / photo_turned (camera pictures).
"""
from __future__ import annotations


def cert(id_, layout, name, title, hours_text, date_text, *, hours, date, review=False, form="pdf",
         approval=None, name_text=None, **extra):
    title_lines = title if isinstance(title, list) else [title]
    expect = {"name": name, "title": " ".join(title_lines), "hours": hours, "date": date, "review": review}
    if approval:
        expect["approval"] = approval
    spec = {"id": id_, "layout": layout, "name_text": name_text or name, "title_lines": title_lines,
            "hours_text": hours_text, "date_text": date_text, "form": form, "expect": expect, **extra}
    if approval:
        spec["approval"] = approval
    return spec


CERTIFICATES = [
    # IICRC-approved courses (school-run, with course # and decoy certificate ID / score / class size)
    cert("iicrc-wrt", "iicrc", "Maria L. Gonzalez", "Water Damage Restoration Technician (WRT)", "CECs Awarded: 19",
         "Date of Completion: March 2, 2026", hours=19, date="2026-03-02", approval="WRT-2207"),
    cert("iicrc-asd", "iicrc", "James O'Connor", "Applied Structural Drying (ASD)", "21 CECs",
         "Completed: 2026-03-14", hours=21, date="2026-03-14", approval="ASD-3310", name_text="JAMES O'CONNOR"),
    cert("iicrc-amrt-wrap", "iicrc", "Anne-Marie Dubois", ["Applied Microbial Remediation", "Technician (AMRT)"],
         "7.0 CEC hours", "Completion Date: 2 March 2026", hours=7, date="2026-03-02", approval="AMRT-118"),
    cert("iicrc-fsrt", "iicrc", "Robert J. Kowalski", "Fire and Smoke Restoration Technician (FSRT)",
         "Credit Hours: 14", "Date: Mar. 2nd, 2026", hours=14, date="2026-03-02", approval="FSRT-5521"),
    cert("iicrc-oct", "iicrc", "Keisha M. Washington", "Odor Control Technician (OCT)", "CE Hours: 4",
         "Completed on 15-Jan-2026", hours=4, date="2026-01-15", approval="OCT-0042"),
    cert("iicrc-cct", "iicrc", "Thomas A. Brennan Jr.", "Carpet Cleaning Technician (CCT)",
         "Seven (7) hours of continuing education", "Given this 9th day of February, 2026", hours=7,
         date="2026-02-09", approval="CCT-9001"),
    cert("iicrc-hst", "iicrc", "Sofia Ramirez-Ortiz", "Health and Safety Technician (HST)", "0.8 CEU",
         "Date of Completion: 11/20/2025", hours=8, date="2025-11-20", approval="HST-7710"),
    cert("iicrc-cds", "iicrc", "David P. Nguyen", "Commercial Drying Specialist (CDS)", "Total CECs: 14",
         "Date of Completion: 03/02/2026", hours=14, date="2026-03-02", review=True, approval="CDS-4100",
         name_text="DAVID P. NGUYEN"),
    cert("iicrc-former", "iicrc", "Harold W. Finch", "Upholstery and Fabric Cleaning Technician (UFT)",
         "1 CEC (7 hrs)", "Date of Completion: June 14, 2004", hours=7, date="2004-06-14", review=True,
         approval="UFT-0311"),
    cert("iicrc-duration", "iicrc", "Emily R. Hart", "Rug Cleaning Technician (RCT)", "Duration: 2 hours 30 min",
         "Date of Completion: May 5, 2026", hours=2.5, date="2026-05-05", review=True, approval="RCT-0077"),
    # school classes, some with a date range (the last day counts)
    cert("school-range", "school", "Marcus Bell", "Water Damage Restoration Technician", "Approved for 19 CECs",
         "April 8-10, 2026", hours=19, date="2026-04-10", approval="13579"),
    cert("school-range2", "school", "Hannah Schmidt", "Applied Structural Drying", "Credit Hours: 21",
         "Class dates: July 26-28, 2025", hours=21, date="2025-07-28", approval="24680"),
    cert("school-wrap", "school", "Carlos E. Mendoza", ["Trauma and Crime Scene Technician", "Initial Certification Course"],
         "CE Hours: 14", "Completed: January 22, 2026", hours=14, date="2026-01-22"),
    cert("school-ceu", "school", "Priya Raman", "Mold Remediation Containment Methods", "1.4 CEUs",
         "Date of completion: 2026-02-27", hours=14, date="2026-02-27"),
    cert("school-caps", "school", "Owen T. McAllister", "Carpet Repair and Reinstallation Technician",
         "7 CECs", "Completed: 12 December 2025", hours=7, date="2025-12-12", name_text="OWEN T. MCALLISTER"),
    # trade-show conferences with date ranges
    cert("ria-conv", "conference", "Grace Okafor", "RIA Convention and Industry Expo 2026", "CE Hours: 9.5",
         "March 16-19, 2026", hours=9.5, date="2026-03-19"),
    cert("ria-summit", "conference", "Benjamin Adler", "Restoration Leadership Summit", "Continuing education: 12 CECs",
         "October 6-8, 2025", hours=12, date="2025-10-08"),
    cert("expo-cross", "conference", "Lucia Fernandez", "The Experience Conference and Expo", "6 CECs",
         "Held April 28 - May 1, 2026", hours=6, date="2026-05-01"),
    # IICRC booth visits (2 CECs)
    cert("booth-1", "booth", "Samuel K. Osei", "Booth Visit at The Experience 2026", "2 CECs",
         "Date: February 12, 2026", hours=2, date="2026-02-12"),
    cert("booth-2", "booth", "Natalie Brooks", "Booth Visit at RIA Expo", "CECs earned: 2",
         "Date: 2025-09-30", hours=2, date="2025-09-30"),
    # manufacturer product training
    cert("mfr-lgr", "manufacturer", "Ethan Parker", "LGR Dehumidifier Setup and Maintenance", "Credit Hours: 3.5",
         "Completed on March 9, 2026", hours=3.5, date="2026-03-09"),
    cert("mfr-thermal", "manufacturer", "Olivia Chen", ["Thermal Imaging for Moisture Detection:", "Level One"],
         "Training hours: 6", "Completed on 2026-01-30", hours=6, date="2026-01-30"),
    cert("mfr-air", "manufacturer", "Jacob Martinez", "Air Mover Placement Fundamentals", "Contact Hours: 2",
         "Completed on Nov. 3rd, 2025", hours=2, date="2025-11-03"),
    # online LMS records (learner ID, score, modules and price are decoys)
    cert("lms-1", "lms", "Aisha Rahman", "Moisture Mapping Essentials", "CEC Hours: 3", "Completion Date: 2026-03-02",
         hours=3, date="2026-03-02", approval="RE-204"),
    cert("lms-2", "lms", "Daniel Cho", "Category 3 Water Safety Refresher", "PDUs/Contact Hours: 0.75",
         "Completion Date: 01/28/2026", hours=0.75, date="2026-01-28", approval="RE-311"),
    cert("lms-3", "lms", "Rebecca Thornton", "Documentation for Insurance Claims", "Recertification Credits: 1.00",
         "Completion Date: 9 February 2026", hours=1, date="2026-02-09", approval="RE-512"),
    cert("lms-nohours", "lms", "Victor Alvarez", "Customer Communication on the Job Site", "Status: Passed",
         "Completion Date: 2026-02-02", hours=None, date="2026-02-02", review=True, approval="RE-090"),
    # portal forms: labels above values in two columns
    cert("form-1", "form", "Angela M. Rossi", "Odor Control Technician", "14", "March 3, 2026", hours=14,
         date="2026-03-03", date_label="DATE COMPLETED", hours_label="CEC HOURS"),
    cert("form-2", "form", "Tomás Ibáñez", "Structural Drying Refresher", "3.5", "2026-02-19", hours=3.5,
         date="2026-02-19", date_label="Completion Date", hours_label="Credit Hours"),
    cert("form-3", "form", "Nadia Petrenko", "Category 3 Sewage Cleanup", "0.7 CEU", "01/30/2026", hours=7,
         date="2026-01-30", date_label="Completed", hours_label="Credits"),
    # letter-spaced text layers
    cert("spaced-1", "iicrc", "Isabel Moreau", "Water Damage Restoration Technician (WRT)", "CECs Awarded: 19",
         "Date of Completion: February 22, 2026", hours=19, date="2026-02-22", form="spaced", approval="WRT-3001"),
    cert("spaced-2", "lms", "Kevin O'Malley", "Drying Equipment Calculations", "CEC Hours: 2",
         "Completion Date: 2026-03-05", hours=2, date="2026-03-05", form="spaced", approval="RE-777"),
    # rotated pages (the /Rotate trap)
    cert("rot90", "iicrc", "Nora Lindqvist", "Odor Control Technician (OCT)", "CECs Awarded: 14",
         "Date of Completion: January 9, 2026", hours=14, date="2026-01-09", form="rotate90", approval="OCT-1212"),
    cert("rot270", "school", "Peter Vance", "Health and Safety Technician", "CE Hours: 7",
         "Completed: 2026-02-18", hours=7, date="2026-02-18", form="rotate270", approval="56789"),
    cert("rot180", "manufacturer", "Yuki Tanaka", "Injectidry Floor Drying System", "Credit Hours: 2",
         "Completed on 2026-03-11", hours=2, date="2026-03-11", form="rotate180"),
    cert("sideways", "lms", "Wendy Castillo", "Ladders and Fall Protection", "CEC Hours: 1",
         "Completion Date: 2026-02-24", hours=1, date="2026-02-24", form="sideways", approval="RE-118"),
    # scanned paper (image-only PDF, skewed, specks)
    cert("scan-1", "iicrc", "Michael Grant", "Water Damage Restoration Technician (WRT)", "CECs Awarded: 19",
         "Date of Completion: March 20, 2026", hours=19, date="2026-03-20", form="scan", approval="WRT-2210",
         skew=1.8),
    cert("scan-2", "school", "Laura Jensen", "Applied Structural Drying", "Credit Hours: 21",
         "April 8-10, 2026", hours=21, date="2026-04-10", form="scan", skew=-2.6, approval="11223"),
    cert("scan-3", "lms", "Brian Foster", "Mold Awareness for Technicians", "CEC Hours: 4",
         "Completion Date: 2026-01-12", hours=4, date="2026-01-12", form="scan", skew=0.8, approval="RE-640"),
    cert("scan-4", "booth", "Angela Rossi", "Booth Visit at The Experience 2026", "2 CECs",
         "Date: February 13, 2026", hours=2, date="2026-02-13", form="scan", skew=3.5),
    cert("scan-stamped", "manufacturer", "Diego Herrera", "Truck Mount Maintenance Basics", "Credit Hours: 2.5",
         "Completed on 2026-02-05", hours=2.5, date="2026-02-05", form="scan", skew=-1.0,
         stamp="Scanned with ScanApp Pro - www.scanapp.example"),
    # photographed paper
    cert("photo-1", "iicrc", "Steven Wright", "Fire and Smoke Restoration Technician (FSRT)", "CECs Awarded: 14",
         "Date of Completion: March 27, 2026", hours=14, date="2026-03-27", form="photo_jpeg", approval="FSRT-0901"),
    cert("photo-2", "manufacturer", "Rachel Green", "Portable Extractor Maintenance", "Credit Hours: 3",
         "Completed on March 3, 2026", hours=3, date="2026-03-03", form="photo_png", skew=2.0),
    cert("photo-3", "school", "Andre Dubois", "Carpet Cleaning Technician", "CE Hours: 14",
         "Completed: February 26, 2026", hours=14, date="2026-02-26", form="photo_turned", skew=1.0, approval="99001"),
    cert("photo-4", "lms", "Fatima Zahra", "Safe Use of Antimicrobials", "CEC Hours: 2",
         "Completion Date: 2026-03-18", hours=2, date="2026-03-18", form="photo_jpeg", skew=-1.2, approval="RE-220"),
]

_OUTLINE = {"layout": "outline"}
MULTI = [
    # page 2 is an outline whose module hours are decoys
    {"id": "outline-decoy", "pages": [CERTIFICATES[0], _OUTLINE], "form": "pdf",
     "expect": [CERTIFICATES[0]["expect"]]},
    # three technicians' certificates in one PDF: each found, each flagged (several people)
    {"id": "multi-3", "form": "pdf",
     "pages": [cert(f"m{i}", "school", n, "Odor Control Technician", "CE Hours: 7", "Completed: 2026-03-06",
                    hours=7, date="2026-03-06") for i, n in enumerate(["Ivan Petrov", "Julia Santos", "Kofi Mensah"])],
     "expect": [{"name": n, "title": "Odor Control Technician", "hours": 7, "date": "2026-03-06", "review": True}
                for n in ["Ivan Petrov", "Julia Santos", "Kofi Mensah"]]},
    # a transcript lists several courses: found, but a person must enter them
    {"id": "transcript", "form": "pdf", "pages": [{"layout": "transcript", "name_text": "Gloria Estrada"}],
     "expect": [{"name": "Gloria Estrada", "title": None, "hours": None, "date": None, "review": True}]},
]

NOT_CERTIFICATES = [
    {"id": "invoice", "form": "pdf", "pages": [{"layout": "invoice"}]},
    {"id": "flyer", "form": "pdf", "pages": [{"layout": "flyer"}]},
    {"id": "outline", "form": "pdf", "pages": [_OUTLINE]},
    {"id": "logo", "form": "logo"},
]
