"""English for every Dutch text of the pages (web.i18n). Keys are the Dutch texts as written."""

EN = {
    # navigation and frame
    "Naar de inhoud": "Skip to content", "Hoofdmenu": "Main menu", "Ingelogd als": "Logged in as",
    "Uitloggen": "Log out", "Mijn dossier": "My dossier", "Inzage werkgever": "Employer access",
    "Organisaties": "Organisations", "Professional toevoegen": "Add a professional",
    "Professionals importeren": "Import professionals", "Professionals": "Professionals",
    "Organisatie": "Organisation", "Beheerders": "Administrators", "Overzichtsrapportage": "Overview report",
    "pe-insight: inzicht in PE-voortgang, met toestemming van de professional.":
        "pe-insight: insight into PE progress, with the professional's consent.",
    "Er ging iets mis": "Something went wrong", "Naar de beginpagina": "To the start page",
    "niet verplicht": "optional",
    # errors
    "Het formulier was verlopen. Ga terug, laad de pagina opnieuw en probeer het nog eens.":
        "The form had expired. Go back, reload the page and try again.",
    "U heeft hiervoor geen rechten.": "You are not allowed to do this.",
    "Deze pagina bestaat niet.": "This page does not exist.", "Het bestand is te groot.": "The file is too large.",
    "Controleer de gemarkeerde velden.": "Check the marked fields.",
    "Deze waarde is niet geldig.": "This value is not valid.",
    "Te veel pogingen achter elkaar. Probeer het over {seconds} seconden opnieuw.":
        "Too many attempts in a row. Try again in {seconds} seconds.",
    "Vul dit veld in.": "Fill in this field.", "Vul een geldig e-mailadres in.": "Enter a valid e-mail address.",
    "Gebruik {0} tot {1} tekens.": "Use {0} to {1} characters.",
    "Vul dit veld in, met hoogstens {0} tekens.": "Fill in this field, with at most {0} characters.", "Gebruik minstens {0} tekens.": "Use at least {0} characters.",
    "Gebruik hoogstens {0} tekens.": "Use at most {0} characters.",
    "Dit wachtwoord is te vaak gebruikt; kies een moeilijker te raden wachtwoord.":
        "This password is too common; choose one that is harder to guess.",
    "Het wachtwoord mag de gebruikersnaam niet bevatten.": "The password must not contain the username.",
    "Het wachtwoord mag het e-mailadres niet bevatten.": "The password must not contain the e-mail address.",
    "Deze gebruikersnaam is al in gebruik; kies een andere.": "This username is taken; choose another.",
    "Er is al een organisatie met dit KvK-nummer ingeschreven.":
        "An organisation with this Chamber of Commerce number is already registered.",
    "Dit PE-nummer hoort al bij een ander account.": "This PE number already belongs to another account.",
    "Kies een van de mogelijkheden.": "Choose one of the options.",
    "Vul een geldige datum in (dd-mm-jjjj), niet te ver in de toekomst.":
        "Enter a valid date (dd-mm-yyyy), not too far in the future.",
    "Kies een datum vanaf vandaag.": "Choose a date from today on.", "Maak een keuze uit de lijst.": "Choose from the list.",
    "Vul een Nederlandse postcode in, bijvoorbeeld 1234 AB.": "Enter a Dutch postcode, such as 1234 AB.",
    "Vul alleen cijfers in, zo veel als gevraagd.": "Enter digits only, as many as asked.",
    "Controleer wat u heeft ingevuld.": "Check what you entered.",
    "U bent niet (meer) ingelogd. Log opnieuw in.": "You are not (or no longer) logged in. Log in again.",
    "Dit is niet gevonden, of u heeft er geen toegang toe.": "This was not found, or you have no access to it.",
    "Dit kan nu niet: de gegevens zijn intussen veranderd.": "This cannot be done now: the data changed meanwhile.",
    "Dit soort bestand wordt niet aangenomen; stuur een CSV-bestand.": "This kind of file is not accepted; send a CSV file.",
    "Te veel pogingen achter elkaar. Probeer het later opnieuw.": "Too many attempts in a row. Try again later.",
    "pe-insight is even niet bereikbaar. Probeer het zo opnieuw.": "pe-insight cannot be reached just now. Try again shortly.",
    "pe-insight antwoordde niet op tijd. Probeer het zo opnieuw.": "pe-insight did not answer in time. Try again shortly.",
    "Er ging iets mis. Probeer het opnieuw.": "Something went wrong. Try again.",
    "Deze link is onbekend, al gebruikt of verlopen. Vraag hieronder een nieuwe aan.":
        "This link is unknown, used or expired. Ask for a new one below.",
    "Gebruikersnaam of wachtwoord klopt niet.": "Username or password is incorrect.",
    "Deze organisatie is (nog) niet geautoriseerd.": "This organisation is not (yet) authorised.",
    "Deze organisatie heeft al een 2e contactpersoon.": "This organisation already has a second contact.",
    "Deze toestemming loopt niet meer.": "This consent no longer holds.",
    "Dit e-mailadres kan alleen de contactpersoon zelf nog wijzigen.": "Only the contact can still change this e-mail address.",
    # roles and states
    "beheerder": "administrator", "2e contactpersoon": "second contact", "contactpersoon": "contact",
    "afdeling": "department", "wacht op autorisatie": "awaiting authorisation", "geautoriseerd": "authorised",
    "afgewezen": "rejected", "geschorst": "suspended", "Wachten op besluit": "Awaiting a decision",
    "Geautoriseerd": "Authorised", "Geschorst": "Suspended", "Afgewezen": "Rejected",
    # anyone
    "Inloggen": "Log in", "U bent uitgelogd.": "You are logged out.", "Aanvraag ontvangen": "Application received",
    "Werkgeversaccount aanvragen": "Apply for an employer account",
    "De twee wachtwoorden zijn niet gelijk.": "The two passwords differ.",
    "Uw wachtwoord is ingesteld. Log in met gebruikersnaam {username}.":
        "Your password is set. Log in with username {username}.",
    "Wachtwoord instellen": "Set password", "Wachtwoord vergeten": "Forgot password",
    "E-mailadres bevestigen": "Confirm e-mail address", "Wachtwoord": "Password", "Wachtwoord vergeten?": "Forgot your password?",
    "Werkgever zonder account?": "An employer without an account?",
    "Vraag een werkgeversaccount aan": "Apply for an employer account", "Vraag een nieuwe link aan": "Ask for a new link",
    "Nieuw wachtwoord": "New password", "12 tot 128 tekens; geen veelgebruikt wachtwoord": "12 to 128 characters; not a common password",
    "Herhaal het wachtwoord": "Repeat the password",
    "Uw aanvraag is ontvangen. Er is een e-mail onderweg naar {email} met uw gebruikersnaam en een link om uw wachtwoord in te stellen.":
        "Your application has been received. A mail is on its way to {email} with your username and a link to set your password.",
    "Het register beoordeelt uw aanvraag. Zodra uw organisatie is geautoriseerd, ontvangt u daarover een e-mail.":
        "The register reviews your application. Once your organisation is authorised, you receive a mail about it.",
    "Vul het formulier volledig in. U ontvangt een e-mail met uw gebruikersnaam en een link om uw wachtwoord in te stellen. Na autorisatie door het register ontvangt u nog een e-mail.":
        "Fill in the whole form. You receive a mail with your username and a link to set your password. After the register authorises you, you receive another mail.",
    "8 cijfers": "8 digits", "Telefoonnummer organisatie": "Organisation's phone number",
    "E-mailadres organisatie": "Organisation's e-mail address", "Uw gegevens (beheerder)": "Your details (administrator)",
    "Bijvoorbeeld een algemeen adres als hr@ of l&d@": "For example a general address such as hr@ or l&d@",
    "Kies zelf een gebruikersnaam van minstens 3 tekens": "Choose a username of at least 3 characters",
    "Aanvraag versturen": "Send application", "Uw nieuwe e-mailadres is bevestigd.": "Your new e-mail address is confirmed.",
    "Bevestig dat dit uw nieuwe e-mailadres is.": "Confirm that this is your new e-mail address.",
    "Als er een account bij hoort, is er een e-mail onderweg met een link om een nieuw wachtwoord in te stellen.":
        "If an account matches, a mail is on its way with a link to set a new password.",
    "Vul uw gebruikersnaam of e-mailadres in. U ontvangt een link om een nieuw wachtwoord in te stellen.":
        "Enter your username or e-mail address. You receive a link to set a new password.",
    "Gebruikersnaam of e-mailadres": "Username or e-mail address", "Link versturen": "Send link", "Naar inloggen": "To log in",
    # dossier
    "Er zijn nog geen PE-gegevens van het PE-register.": "There is no PE data from the PE registry yet.",
    "PE-voortgang": "PE progress", "PE-nummer": "PE number", "PE-periode": "PE period", "PE-punten behaald": "PE points earned",
    "van": "of", "Dossier voor herregistratie ingediend": "Dossier for renewal submitted", "ja, op": "yes, on", "nee": "no",
    "ja": "yes", "Afgeronde leeractiviteiten": "Completed learning activities", "Activiteit": "Activity",
    "Aanbieder": "Provider", "Categorie": "Category", "Afgerond op": "Completed on", "Punten": "Points",
    "Nog geen afgeronde leeractiviteiten.": "No completed learning activities yet.", "Dossier van {name}": "Dossier of {name}",
    # employer
    "Rol": "Role", "Naam": "Name", "Naam afdeling (alleen bij een afdeling)": "Department name (departments only)",
    "Bijvoorbeeld HR of L&D": "For example HR or L&D", "E-mailadres": "E-mail address", "Telefoonnummer": "Phone number",
    "Gebruikersnaam": "Username", "Minstens 3 tekens; de contactpersoon logt hiermee in": "At least 3 characters; the contact logs in with it",
    "Opslaan": "Save", "Annuleren": "Cancel",
    "Tip: gebruik algemene adressen van HR en L&D als beheerder en 2e contactpersoon, en extra contactpersonen voor (regio)managers.":
        "Tip: use the general addresses of HR and L&D as administrator and second contact, and further contacts for (regional) managers.",
    "Acties": "Actions", "Wijzigen: {name}": "Change: {name}", "Verwijderen: {name}": "Remove: {name}",
    "U mag dit dossier inzien tot en met {date}.": "You may read this dossier until and including {date}.",
    "U mag dit dossier inzien zolang de professional de toestemming niet intrekt.":
        "You may read this dossier as long as the professional does not revoke the consent.",
    "Terug naar professionals": "Back to professionals", "Naam organisatie": "Organisation name",
    "Straat en huisnummer (bezoekadres)": "Street and number (visiting address)", "Postcode": "Postcode",
    "Bijvoorbeeld 1234 AB": "For example 1234 AB", "Plaats": "City", "KvK-nummer": "Chamber of Commerce number",
    "Bezoekadres": "Visiting address", "Status": "Status", "Gegevens wijzigen": "Change details",
    "De gegevens van de organisatie zijn opgeslagen.": "The organisation's details are saved.",
    "Organisatiegegevens wijzigen": "Change organisation details",
    "{name} is toegevoegd en ontvangt een e-mail om een wachtwoord in te stellen.":
        "{name} is added and receives a mail to set a password.",
    "Toevoegen beheerder": "Add administrator", "De gegevens van {name} zijn opgeslagen.": "The details of {name} are saved.",
    "Contactpersoon wijzigen": "Change contact",
    "{name} is verwijderd; de toestemmingen aan deze contactpersoon zijn beëindigd.":
        "{name} is removed; the consents given to this contact have ended.",
    "Contactpersoon verwijderen": "Remove contact",
    "Professionals die u toestemming hebben gegeven om hun PE-dossier in te zien.":
        "Professionals who consented to you reading their PE dossier.",
    "PE-punten": "PE points", "Toestemming tot": "Consent until", "nog geen gegevens": "no data yet",
    "zonder einddatum": "without end date",
    "Nog niemand heeft u toestemming gegeven. Vraag uw medewerkers dat zelf in pe-insight te doen.":
        "No one has consented yet. Ask your people to do so themselves in pe-insight.",
    "Weet u zeker dat u {name} wilt verwijderen? De toestemmingen die professionals aan deze contactpersoon gaven, eindigen dan.":
        "Are you sure you want to remove {name}? The consents professionals gave to this contact then end.",
    "Ja, verwijderen": "Yes, remove", "Nee, terug": "No, go back", "Samenvatting": "Summary",
    "Professionals met een geldige toestemming": "Professionals with a valid consent", "Op schema": "On track",
    "Achter op schema": "Behind", "Nog geen gegevens": "No data yet", "Download als PDF": "Download as PDF",
    "Download als Excel (XLSX)": "Download as Excel (XLSX)", "Dossier ingediend": "Dossier submitted",
    # operator
    "Kies een besluit.": "Choose a decision.", "Geef een reden op.": "Give a reason.",
    "De organisatie is geautoriseerd.": "The organisation is authorised.", "De organisatie is afgewezen.": "The organisation is rejected.",
    "De organisatie is geschorst.": "The organisation is suspended.",
    "{name} is aangemaakt en ontvangt een e-mail om een wachtwoord in te stellen.":
        "{name} is created and receives a mail to set a password.",
    "Kies een CSV-bestand.": "Choose a CSV file.",
    "Het bestand klopt niet: de eerste regel moet de kolommen noemen (username, email, display_name, pe_registration_number, language) en het bestand moet UTF-8 zijn.":
        "The file is not right: its first line must name the columns (username, email, display_name, pe_registration_number, language) and it must be UTF-8.",
    "Een CSV-bestand in UTF-8 met op de eerste regel de kolommen username, email, display_name, pe_registration_number en (niet verplicht) language; hoogstens 5000 regels en 2 MB. Elke regel slaagt of faalt op zichzelf.":
        "A CSV file in UTF-8 whose first line names the columns username, email, display_name, pe_registration_number and (optional) language; at most 5000 rows and 2 MB. Each row succeeds or fails on its own.",
    "CSV-bestand": "CSV file", "Importeren": "Import", "Resultaat": "Result",
    "{created} aangemaakt, {rejected} geweigerd.": "{created} created, {rejected} refused.",
    "Geweigerde regels": "Refused rows", "Regel": "Row", "Reden": "Reason", "Aangemaakt": "Created",
    "Minstens 3 tekens": "At least 3 characters", "Taal van de e-mails": "Language of the mails",
    "Professional aanmaken": "Create professional", "Besluit": "Decision", "Autoriseren": "Authorise",
    "Afwijzen": "Reject", "Schorsen": "Suspend", "Verplicht bij afwijzen en schorsen": "Required to reject or suspend",
    "Besluit vastleggen": "Record decision", "Geschiedenis": "History", "Terug naar organisaties": "Back to organisations",
    "Aangevraagd": "Applied", "Geen organisaties met deze status.": "No organisations with this status.",
    # professional
    "(organisatie niet meer zichtbaar)": "(organisation no longer visible)", "(contactpersoon verwijderd)": "(contact removed)",
    "Toestemming toevoegen": "Add consent", "Kies minstens één contactpersoon of afdeling.": "Choose at least one contact or department.",
    "Toestemming gegeven aan {count} contactpersoon/contactpersonen van {name}.":
        "Consent given to {count} contact(s) of {name}.",
    "De einddatum is gewijzigd.": "The end date is changed.",
    "De toestemming is ingetrokken. Vanaf nu ziet deze contactpersoon uw dossier niet meer.":
        "The consent is revoked. From now on this contact no longer sees your dossier.",
    "Toestemming intrekken": "Revoke consent", "Stap 1 van 2: kies de organisatie.": "Step 1 of 2: choose the organisation.",
    "Zoek op naam": "Search by name", "Zoeken": "Search",
    "Geen geautoriseerde organisatie gevonden.": "No authorised organisation found.",
    "Terug naar inzage werkgever": "Back to employer access",
    "Hier bepaalt u welke contactpersonen van uw werkgever uw PE-dossier mogen inzien, en tot wanneer.":
        "Here you decide which contacts of your employer may read your PE dossier, and until when.",
    "Toevoegen": "Add", "Lopende toestemmingen": "Current consents", "Contactpersoon of afdeling": "Contact or department",
    "Sinds": "Since", "Geautoriseerd tot": "Authorised until", "Intrekken": "Revoke",
    "Geautoriseerd tot voor {who}": "Authorised until, for {who}", "Einddatum opslaan": "Save end date",
    "tot en met": "until and including", "Intrekken: {who}": "Revoke: {who}",
    "U heeft op dit moment niemand toestemming gegeven.": "You have not given anyone consent at the moment.",
    "Wie heeft mijn dossier gezien": "Who saw my dossier", "Wanneer": "When", "Wat": "What",
    "dossier geopend": "dossier opened", "in de lijst van een contactpersoon getoond": "shown in a contact's list",
    "opgenomen in een overzichtsrapportage": "included in an overview report",
    "Nog niemand heeft uw dossier gezien.": "No one has seen your dossier yet.", "toestemming gegeven": "consent given",
    "einddatum gewijzigd": "end date changed", "ingetrokken": "revoked", "verlopen": "expired", "beëindigd": "ended",
    "Nog geen wijzigingen.": "No changes yet.",
    "Stap 2 van 2: kies wie van {name} uw dossier mag inzien.": "Step 2 of 2: choose who at {name} may read your dossier.",
    "Contactpersonen en afdelingen": "Contacts and departments",
    "Tot en met deze dag, als dd-mm-jjjj (bijvoorbeeld 31-03-2027). Leeg laten: zonder einddatum, tot u intrekt.":
        "Until and including this day, as dd-mm-yyyy (for example 31-03-2027). Leave empty: without end, until you revoke.",
    "Toestemming geven": "Give consent", "Andere organisatie kiezen": "Choose another organisation",
    "Weet u zeker dat u de toestemming voor {who} van {organisation} wilt intrekken?":
        "Are you sure you want to revoke the consent for {who} of {organisation}?",
    "Vanaf nu ziet deze contactpersoon uw dossier niet meer. Wat eerder met uw toestemming is ingezien, blijft ingezien; de geschiedenis blijft bewaard.":
        "From now on this contact no longer sees your dossier. What was seen earlier with your consent stays seen; the history is kept.",
    "Ja, intrekken": "Yes, revoke",
    "Er ging iets mis aan onze kant. Probeer het opnieuw; blijft het misgaan, neem dan contact op.":
        "Something went wrong on our side. Try again; if it keeps failing, please contact us.",
    "Tabel; schuift opzij op een smal scherm": "Table; scrolls sideways on a narrow screen",
    # the gateway's rules, as its messages name them
    "Gebruik één regel tekst, zonder tabs of regeleinden.": "Use one line of text, without tabs or line breaks.",
    "Vul precies 8 cijfers in.": "Enter exactly 8 digits.",
    "Vul een telefoonnummer in van {0} tot {1} cijfers, eventueel met een + ervoor.":
        "Enter a phone number of {0} to {1} digits, optionally starting with +.",
    "Gebruik {0} tot {1} letters, cijfers en {2}": "Use {0} to {1} letters, digits and {2}",
    "Vul een datum in als dd-mm-jjjj, bijvoorbeeld 31-03-2027.": "Enter a date as dd-mm-yyyy, for example 31-03-2027.",
    "dd-mm-jjjj; leeg: zonder einddatum": "dd-mm-yyyy; empty: without end date",
}
