"""Public (no sign-in): verify a certificate's signed credential, pasted, uploaded, or opened from its QR code."""

import streamlit as st

from ipt_training.credentials import verifiable
from ipt_training.ui.common import get_db

db = get_db()
st.title("Verify a certificate")
st.caption("Paste the credential a certificate holder gave you (the text of its file), upload the file, or open the "
           "link in the certificate's QR code. Nothing you paste is stored.")

from_link = str(st.query_params.get("credential", ""))[:200]
with st.form("vf_form"):
    pasted = st.text_area("Credential or verification link", value=from_link, key="vf_text", height=140,
                          max_chars=verifiable.MAX_INPUT)
    upload = st.file_uploader("Or upload the credential file", type=["jwt", "json", "txt"], key="vf_file")
    asked = st.form_submit_button("Verify", key="vf_go", type="primary", icon=":material/verified_user:")

text = ""
if asked or (from_link and "vf_done" not in st.session_state):
    st.session_state["vf_done"] = True
    if upload is not None:
        try:
            text = upload.getvalue()[: verifiable.MAX_INPUT + 1].decode("utf-8")
        except UnicodeDecodeError:
            text = "\x00"  # not text: verify() says it is not a credential
    else:
        text = pasted
if text:
    r = verifiable.verify(db, text)
    headline = {"valid": "Valid", "expired": "Expired", "revoked": "Revoked", "tampered": "Tampered",
                "unknown issuer": "Unknown issuer", "not a credential": "Not a credential"}[r["status"]]
    box = st.success if r["status"] == "valid" else st.warning if r["status"] == "expired" else st.error
    with st.container(border=True, key="vf_result"):
        box(f"{headline}", icon=":material/verified:" if r["status"] == "valid" else ":material/gpp_bad:")
        # what the credential says is shown as plain text, never as Markdown
        st.text(r["reason"])
        if r["holder"] or r["standard"]:
            st.text(f"Holder: {r['holder']}")
            st.text(f"Standard: {r['standard']}")
            st.text(f"Valid until: {r['valid_until'] or 'no expiry'}")
            if r["issuer"]:
                st.text(f"Issuer named in the credential: {r['issuer']}")
            if r["credential_id"]:
                st.text(f"Credential id: {r['credential_id']}")
