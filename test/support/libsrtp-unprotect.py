"""Unprotects SRTP packets with libsrtp (Debian's libsrtp2 through pylibsrtp), the implementation
browsers use: argv[1] is the profile ("cm" or "gcm"), argv[2] the master key and salt (hex); each stdin
line is one SRTP packet (hex); each stdout line is the RTP packet (hex), or "error <reason>"."""
import sys

from pylibsrtp import Error, Policy, Session

profile = Policy.SRTP_PROFILE_AEAD_AES_128_GCM if sys.argv[1] == "gcm" else Policy.SRTP_PROFILE_AES128_CM_SHA1_80
session = Session(policy=Policy(key=bytes.fromhex(sys.argv[2]), ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile))
for line in sys.stdin:
    try:
        print(session.unprotect(bytes.fromhex(line.strip())).hex())
    except Error as e:
        print("error", e)
