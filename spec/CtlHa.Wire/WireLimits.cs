namespace CtlHa.Wire;

/// <summary>
/// Every fixed bound of the interlink contract (spec/PROTOCOL.md §2, §6). A receiver checks each
/// wire field against these before using it; a sender that would exceed one has a bug.
/// </summary>
public static class WireLimits
{
    /// <summary>Interlink protocol version carried in <see cref="Login"/>; peers must be equal.
    /// Not CTL's CTL_HA_VERSION (3): the formats are unrelated.</summary>
    public const uint ProtocolVersion = 2;

    /// <summary>Bytes of the big-endian length prefix in front of every frame.</summary>
    public const int LengthPrefixSize = 4;

    /// <summary>One data segment (CTL_HA_DATAMOVE_SEGMENT = 131072, ctl-ha.md §6.3).</summary>
    public const int MaxDataSegment = 128 * 1024;

    /// <summary>Largest frame payload anyone may send or accept: 1 MiB of message plus 4 KiB of header room.
    /// A LUN_SYNC with the maximum registrations stays below it (CTL's 1 MiB socket buffer stall, §12.2.10).</summary>
    public const int MaxFrameLength = (1024 * 1024) + 4096;

    /// <summary>Receive limit before Login has been accepted: handshake frames are small, so a peer that has not
    /// proved the key cannot make a node buffer a megabyte.</summary>
    public const int HandshakeMaxFrameLength = 4096;

    /// <summary>Smallest receive limit a node may announce in Login: must hold a full data segment.</summary>
    public const int MinFrameLength = 256 * 1024;

    /// <summary>Node positions: CTL ha_id 1 or 2 (ctl-ha.md §1).</summary>
    public const byte MinNodeId = 1;

    /// <inheritdoc cref="MinNodeId"/>
    public const byte MaxNodeId = 2;

    /// <summary>Absolute ceiling for the negotiated max LUNs (CTL default 1024).</summary>
    public const uint MaxLunsLimit = 16384;

    /// <summary>Absolute ceiling for the negotiated max ports (CTL default 1024 in main, 256 in 12.x).</summary>
    public const uint MaxPortsLimit = 4096;

    /// <summary>Initiators per port: CTL_MAX_INIT_PER_PORT = 2048; initiator index = port · 2048 + iid.</summary>
    public const uint MaxInitiatorsPerPortLimit = 2048;

    /// <summary>Largest initiator index: MaxPortsLimit · MaxInitiatorsPerPortLimit − 1.</summary>
    public const uint MaxInitiatorIndex = (MaxPortsLimit * MaxInitiatorsPerPortLimit) - 1;

    /// <summary>Nonce bytes in <see cref="AuthChallenge"/>.</summary>
    public const int NonceLength = 32;

    /// <summary>HMAC-SHA256 output bytes in <see cref="AuthResponse"/>.</summary>
    public const int MacLength = 32;

    /// <summary>Cluster name: 1..64 characters of [A-Za-z0-9._-].</summary>
    public const int MaxClusterNameLength = 64;

    /// <summary>Software version string (logs only): 0..64 printable ASCII characters.</summary>
    public const int MaxSoftwareVersionLength = 64;

    /// <summary>Free text in <see cref="Goodbye"/>: 0..256 characters each.</summary>
    public const int MaxGoodbyeTextLength = 256;

    /// <summary>iSCSI names: at most 223 bytes (RFC 7143 §4.2.7.1).</summary>
    public const int MaxIscsiNameLength = 223;

    /// <summary>Port names as shown in RTPG/logs: at most 255 UTF-8 bytes.</summary>
    public const int MaxPortNameLength = 255;

    /// <summary>A device-identification blob (VPD 0x83 designators) of a LUN, port or target.</summary>
    public const int MaxDeviceIdLength = 1024;

    /// <summary>SCSI CDB: 6..32 bytes (CTL cdb[32]; SPC variable-length CDBs above 32 are not supported).</summary>
    public const int MinCdbLength = 6;

    /// <inheritdoc cref="MinCdbLength"/>
    public const int MaxCdbLength = 32;

    /// <summary>Sense data: at most 252 bytes (SPC-5 §4.4.1, CTL sense_data[252]).</summary>
    public const int MaxSenseLength = 252;

    /// <summary>A whole mode page image (header included); SPC allows 65539, CtlHa pages are far smaller.</summary>
    public const int MaxModePageLength = 4096;

    /// <summary>A TransportID (SPC-5 §7.6.4): iSCSI format 01b is at most 4 + 223 + 17 + pad = 248; 256 leaves room.</summary>
    public const int MaxTransportIdLength = 256;

    /// <summary>PR registrations in one LUN (and one LunSync). 2048 · ~280 bytes fits one frame.</summary>
    public const int MaxRegistrations = 2048;

    /// <summary>Largest expected data transfer length of one command (1 GiB).</summary>
    public const uint MaxExpectedDataLength = 1u << 30;

    /// <summary>ISID is 6 bytes (RFC 7143 §11.12.5).</summary>
    public const int IsidLength = 6;

    /// <summary>Sense INFORMATION field carried with a unit attention (38/07): 8 bytes (SPC-5 §4.4.2.3).</summary>
    public const int UnitAttentionInfoLength = 8;

    /// <summary>Initiator index meaning "no initiator" (CTL passes initidx −1).</summary>
    public const uint NoInitiator = 0xFFFF_FFFF;

    /// <summary>PR holder: no reservation (CTL_PR_NO_RESERVATION).</summary>
    public const uint NoReservation = 0xFFFF_FFF0;

    /// <summary>PR holder: all registrants (CTL_PR_ALL_REGISTRANTS, types 7 and 8).</summary>
    public const uint AllRegistrants = 0xFFFF_FFFF;

    /// <summary>LUN number meaning "every LUN" in <see cref="UnitAttention"/>.</summary>
    public const uint AllLuns = 0xFFFF_FFFF;

    /// <summary>LUN map entry for an unmapped port LUN.</summary>
    public const uint UnmappedLun = 0xFFFF_FFFF;
}
