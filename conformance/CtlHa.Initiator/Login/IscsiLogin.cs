using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CtlHa.Initiator.Pdus;

namespace CtlHa.Initiator.Login;

/// <summary>Session type key, RFC 7143 §13.21.</summary>
public enum SessionType
{
    Normal,
    Discovery,
}

/// <summary>Login stages (CSG/NSG), RFC 7143 §11.12.3.</summary>
public enum LoginStage : byte
{
    Security = 0,
    Operational = 1,
    FullFeature = 3,
}

/// <summary>
/// The initiator side of the login phase (RFC 7143 §6 and §11.12-11.13) over an <see cref="IscsiConnection"/>:
/// security stage (AuthMethod None or CHAP-MD5 one-way/mutual), then operational negotiation, then full feature
/// phase. On success the connection's digests and receive limit are switched to the negotiated values.
/// </summary>
public static class IscsiLogin
{
    /// <summary>Login Request header: byte1 = T(0x80) C(0x40) CSG(0x0C) NSG(0x03); 2 VersionMax; 3 VersionMin;
    /// 8-13 ISID; 14-15 TSIH; 16 ITT; 20-21 CID; 24 CmdSN; 28 ExpStatSN (RFC 7143 §11.12).</summary>
    public static IscsiPdu BuildRequest(ulong isid, ushort tsih, uint itt, ushort cid, uint cmdSN, uint expStatSN,
        bool transit, bool @continue, LoginStage csg, LoginStage nsg, ReadOnlyMemory<byte> text)
    {
        var pdu = new IscsiPdu(IscsiOpcode.LoginRequest, immediate: true)
        {
            Flags = (byte)((transit ? 0x80 : 0) | (@continue ? 0x40 : 0) | ((byte)csg << 2) | (transit ? (byte)nsg : 0)),
            Byte2 = 0x00,
            Byte3 = 0x00,
            Lun = (isid << 16) | tsih,
            InitiatorTaskTag = itt,
            CmdSN = cmdSN,
            ExpStatSN = expStatSN,
            Data = text,
        };
        pdu.SetUInt16(20, cid);
        return pdu;
    }

    /// <summary>Logs in on <paramref name="connection"/>; <paramref name="targetName"/> is null for discovery sessions.</summary>
    public static async Task<LoginResult> LoginAsync(
        IscsiConnection connection,
        InitiatorOptions options,
        SessionType sessionType,
        string? targetName,
        ulong isid,
        ushort tsih,
        uint initialCmdSN,
        CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.LoginTimeout);
        try
        {
            var login = new LoginExchange(connection, options, sessionType, targetName, isid, tsih, initialCmdSN);
            return await login.RunAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            connection.Abort();
            throw new IscsiTimeoutException($"Login did not finish within {options.LoginTimeout}.");
        }
    }

    private sealed class LoginExchange(
        IscsiConnection connection,
        InitiatorOptions options,
        SessionType sessionType,
        string? targetName,
        ulong isid,
        ushort tsih,
        uint cmdSN)
    {
        // Bounds the number of request/response rounds so a target that never sets T cannot hold us forever.
        private const int MaxRounds = 16;
        private const uint LoginItt = 0;
        private const int ChapChallengeLength = 16;

        private readonly Dictionary<string, string> _targetKeys = new(StringComparer.Ordinal);
        private uint _expStatSN;
        // Requests keep the caller's TSIH for the whole login (0 for a new session, RFC 7143 §11.12.6);
        // the target's TSIH, set in its final response, is the result.
        private readonly ushort _requestTsih = tsih;
        private ushort _resultTsih;
        private uint _expCmdSN;
        private uint _maxCmdSN;

        public async Task<LoginResult> RunAsync(CancellationToken ct)
        {
            await SecurityStageAsync(ct);
            var parameters = await OperationalStageAsync(ct);
            connection.Digests = new DigestSettings(parameters.HeaderDigest, parameters.DataDigest);
            connection.MaxRecvDataSegmentLength = parameters.InitiatorMaxRecvDataSegmentLength;
            return new LoginResult(isid, _resultTsih != 0 ? _resultTsih : _requestTsih, options.Cid, cmdSN, _expStatSN, _expCmdSN, _maxCmdSN, parameters);
        }

        private async Task SecurityStageAsync(CancellationToken ct)
        {
            var keys = new List<KeyValuePair<string, string>>
            {
                new("InitiatorName", options.InitiatorName),
            };
            if (options.InitiatorAlias is not null)
            {
                keys.Add(new("InitiatorAlias", options.InitiatorAlias));
            }

            keys.Add(new("SessionType", sessionType == SessionType.Discovery ? "Discovery" : "Normal"));
            if (sessionType == SessionType.Normal)
            {
                keys.Add(new("TargetName", targetName ?? throw new ArgumentNullException(nameof(targetName))));
            }

            if (options.Chap is null)
            {
                keys.Add(new("AuthMethod", "None"));
                var (transit, _) = await ExchangeAsync(LoginStage.Security, LoginStage.Operational, transit: true, keys, ct);
                for (var round = 0; !transit; round++)
                {
                    CheckRounds(round);
                    (transit, _) = await ExchangeAsync(LoginStage.Security, LoginStage.Operational, transit: true, [], ct);
                }

                return;
            }

            keys.Add(new("AuthMethod", options.MutualChap is null ? "CHAP,None" : "CHAP"));
            var (done, answer) = await ExchangeAsync(LoginStage.Security, LoginStage.Operational, transit: false, keys, ct);
            var method = Find(answer, "AuthMethod") ?? throw new IscsiLoginException("Target did not answer AuthMethod.");
            if (method == "None")
            {
                if (options.MutualChap is not null)
                {
                    throw new IscsiLoginException("Target chose AuthMethod=None but mutual CHAP was required.");
                }

                for (var round = 0; !done; round++)
                {
                    CheckRounds(round);
                    (done, _) = await ExchangeAsync(LoginStage.Security, LoginStage.Operational, transit: true, [], ct);
                }

                return;
            }

            if (method != "CHAP")
            {
                throw new IscsiLoginException($"Target chose AuthMethod={method}, which was not offered.");
            }

            (_, answer) = await ExchangeAsync(LoginStage.Security, LoginStage.Operational, transit: false,
                [new("CHAP_A", Chap.AlgorithmMd5)], ct);
            var algorithm = Find(answer, "CHAP_A");
            if (algorithm != Chap.AlgorithmMd5)
            {
                throw new IscsiLoginException($"Target chose CHAP_A={algorithm ?? "(none)"}; only MD5 (5) is supported.");
            }

            var identifier = Chap.ParseIdentifier(Find(answer, "CHAP_I") ?? throw new IscsiLoginException("Target sent no CHAP_I."));
            var challenge = Chap.DecodeBinary(Find(answer, "CHAP_C") ?? throw new IscsiLoginException("Target sent no CHAP_C."));
            var response = Chap.Response(identifier, Encoding.UTF8.GetBytes(options.Chap.Secret), challenge);
            var reply = new List<KeyValuePair<string, string>>
            {
                new("CHAP_N", options.Chap.UserName),
                new("CHAP_R", Chap.EncodeHex(response)),
            };

            byte mutualIdentifier = 0;
            byte[] mutualChallenge = [];
            if (options.MutualChap is not null)
            {
                mutualIdentifier = (byte)RandomNumberGenerator.GetInt32(256);
                mutualChallenge = RandomNumberGenerator.GetBytes(ChapChallengeLength);
                if (mutualChallenge.AsSpan().SequenceEqual(challenge))
                {
                    // RFC 7143 §12.1.3: an initiator must not answer a challenge equal to the one it sent.
                    mutualChallenge[0] ^= 0xFF;
                }

                reply.Add(new("CHAP_I", mutualIdentifier.ToString(CultureInfo.InvariantCulture)));
                reply.Add(new("CHAP_C", Chap.EncodeHex(mutualChallenge)));
            }

            (done, answer) = await ExchangeAsync(LoginStage.Security, LoginStage.Operational, transit: true, reply, ct);
            if (options.MutualChap is not null)
            {
                var name = Find(answer, "CHAP_N") ?? throw new IscsiLoginException("Target sent no CHAP_N for mutual CHAP.");
                var targetResponse = Chap.DecodeBinary(Find(answer, "CHAP_R") ?? throw new IscsiLoginException("Target sent no CHAP_R for mutual CHAP."));
                if (options.MutualChap.TargetUserName is not null && name != options.MutualChap.TargetUserName)
                {
                    throw new IscsiLoginException($"Target CHAP_N '{name}' is not the expected '{options.MutualChap.TargetUserName}'.");
                }

                var expected = Chap.Response(mutualIdentifier, Encoding.UTF8.GetBytes(options.MutualChap.Secret), mutualChallenge);
                if (!CryptographicOperations.FixedTimeEquals(expected, targetResponse))
                {
                    connection.Abort();
                    throw new IscsiLoginException("Target failed mutual CHAP authentication.");
                }
            }

            for (var round = 0; !done; round++)
            {
                CheckRounds(round);
                (done, _) = await ExchangeAsync(LoginStage.Security, LoginStage.Operational, transit: true, [], ct);
            }
        }

        private async Task<NegotiatedParameters> OperationalStageAsync(CancellationToken ct)
        {
            var offer = new List<KeyValuePair<string, string>>
            {
                new("HeaderDigest", DigestList(options.HeaderDigest)),
                new("DataDigest", DigestList(options.DataDigest)),
                new("MaxRecvDataSegmentLength", Number(options.MaxRecvDataSegmentLength)),
            };
            if (sessionType == SessionType.Normal)
            {
                offer.Add(new("InitialR2T", YesNo(options.InitialR2T)));
                offer.Add(new("ImmediateData", YesNo(options.ImmediateData)));
                offer.Add(new("MaxBurstLength", Number(options.MaxBurstLength)));
                offer.Add(new("FirstBurstLength", Number(options.FirstBurstLength)));
                offer.Add(new("MaxConnections", "1"));
                offer.Add(new("MaxOutstandingR2T", Number(options.MaxOutstandingR2T)));
                offer.Add(new("DataPDUInOrder", "Yes"));
                offer.Add(new("DataSequenceInOrder", "Yes"));
                offer.Add(new("ErrorRecoveryLevel", "0"));
                offer.Add(new("DefaultTime2Wait", Number(options.DefaultTime2Wait)));
                offer.Add(new("DefaultTime2Retain", Number(options.DefaultTime2Retain)));
            }

            offer.AddRange(options.ExtraOperationalKeys);
            var offered = new HashSet<string>(offer.Select(k => k.Key), StringComparer.Ordinal);
            var answers = new Dictionary<string, string>(StringComparer.Ordinal);

            var (done, answer) = await ExchangeAsync(LoginStage.Operational, LoginStage.FullFeature, transit: true, offer, ct);
            for (var round = 0; ; round++)
            {
                var reply = new List<KeyValuePair<string, string>>();
                foreach (var (key, value) in answer)
                {
                    if (offered.Contains(key))
                    {
                        answers[key] = value;
                    }
                    else if (!IsDeclarative(key) && offered.Add(key))
                    {
                        // A key the target offered first: answer it (RFC 7143 §6.2).
                        var ourAnswer = AnswerTargetOffer(key, value);
                        answers[key] = ourAnswer;
                        reply.Add(new(key, ourAnswer));
                    }
                }

                if (done && reply.Count == 0)
                {
                    break;
                }

                CheckRounds(round);
                (done, answer) = await ExchangeAsync(LoginStage.Operational, LoginStage.FullFeature, transit: true, reply, ct);
            }

            return Resolve(answers);
        }

        private NegotiatedParameters Resolve(Dictionary<string, string> answers)
        {
            var defaults = new NegotiatedParameters();
            return new NegotiatedParameters
            {
                HeaderDigest = ResolveDigest(answers, "HeaderDigest", options.HeaderDigest),
                DataDigest = ResolveDigest(answers, "DataDigest", options.DataDigest),
                TargetMaxRecvDataSegmentLength = _targetKeys.TryGetValue("MaxRecvDataSegmentLength", out var mrdsl)
                    ? ParseNumber("MaxRecvDataSegmentLength", mrdsl)
                    : defaults.TargetMaxRecvDataSegmentLength,
                InitiatorMaxRecvDataSegmentLength = options.MaxRecvDataSegmentLength,
                MaxBurstLength = Math.Min(options.MaxBurstLength, NumberOr(answers, "MaxBurstLength", defaults.MaxBurstLength)),
                FirstBurstLength = Math.Min(options.FirstBurstLength, NumberOr(answers, "FirstBurstLength", defaults.FirstBurstLength)),
                InitialR2T = options.InitialR2T | BoolOr(answers, "InitialR2T", defaults.InitialR2T),
                ImmediateData = options.ImmediateData & BoolOr(answers, "ImmediateData", defaults.ImmediateData),
                MaxOutstandingR2T = Math.Min(options.MaxOutstandingR2T, NumberOr(answers, "MaxOutstandingR2T", defaults.MaxOutstandingR2T)),
                ErrorRecoveryLevel = NumberOr(answers, "ErrorRecoveryLevel", 0),
                DataPduInOrder = BoolOr(answers, "DataPDUInOrder", true),
                DataSequenceInOrder = BoolOr(answers, "DataSequenceInOrder", true),
                MaxConnections = NumberOr(answers, "MaxConnections", 1),
                DefaultTime2Wait = NumberOr(answers, "DefaultTime2Wait", defaults.DefaultTime2Wait),
                DefaultTime2Retain = NumberOr(answers, "DefaultTime2Retain", defaults.DefaultTime2Retain),
                TargetAlias = _targetKeys.GetValueOrDefault("TargetAlias"),
                TargetPortalGroupTag = _targetKeys.TryGetValue("TargetPortalGroupTag", out var tpgt) ? ParseNumber("TargetPortalGroupTag", tpgt) : null,
                TargetKeys = new Dictionary<string, string>(_targetKeys, StringComparer.Ordinal),
            };
        }

        /// <summary>One request, and its response (following C-bit continuations). Returns whether the target transited to <paramref name="nsg"/>.</summary>
        private async Task<(bool Transit, List<KeyValuePair<string, string>> Keys)> ExchangeAsync(
            LoginStage csg, LoginStage nsg, bool transit, List<KeyValuePair<string, string>> keys, CancellationToken ct)
        {
            var text = TextParameters.Encode(keys);
            if (text.Length > IscsiConnection.LoginMaxRecvDataSegmentLength)
            {
                throw new IscsiLoginException("Login text exceeds 8192 bytes; request continuation is not supported.");
            }

            var received = new List<KeyValuePair<string, string>>();
            var pdu = BuildRequest(isid, _requestTsih, LoginItt, options.Cid, cmdSN, _expStatSN, transit, false, csg, nsg, text);
            while (true)
            {
                await connection.SendAsync(pdu, ct);
                var response = await connection.ReceiveAsync(ct);
                if (response.Opcode != IscsiOpcode.LoginResponse)
                {
                    throw new IscsiProtocolException($"Expected a Login Response, got {response.Opcode}.");
                }

                var statusClass = response.Bhs[36];
                var statusDetail = response.Bhs[37];
                if (statusClass != 0)
                {
                    var detail = TextParameters.Decode(response.Data.Span);
                    var address = detail.FirstOrDefault(k => k.Key == "TargetAddress").Value;
                    throw new IscsiLoginException(
                        $"Login failed: Status-Class 0x{statusClass:X2} Status-Detail 0x{statusDetail:X2}{(address is null ? "" : $", TargetAddress={address}")}.",
                        statusClass, statusDetail);
                }

                if (response.Byte3 != 0x00)
                {
                    throw new IscsiLoginException($"Target chose version 0x{response.Byte3:X2}; only 0x00 exists.");
                }

                if (response.InitiatorTaskTag != LoginItt)
                {
                    throw new IscsiProtocolException($"Login Response ITT 0x{response.InitiatorTaskTag:X8} is not ours.");
                }

                _expStatSN = response.StatSN + 1;
                _expCmdSN = response.ExpCmdSN;
                _maxCmdSN = response.MaxCmdSN;
                var responseTsih = (ushort)(response.Lun & 0xFFFF);
                if (responseTsih != 0)
                {
                    _resultTsih = responseTsih;
                }

                var decoded = TextParameters.Decode(response.Data.Span);
                received.AddRange(decoded);
                foreach (var (key, value) in decoded)
                {
                    _targetKeys[key] = value;
                }

                var flags = response.Flags;
                var targetTransit = (flags & 0x80) != 0;
                var targetContinue = (flags & 0x40) != 0;
                if (targetContinue)
                {
                    // RFC 7143 §11.13.3: the target has more text; ask for it with an empty request, T=0.
                    pdu = BuildRequest(isid, _requestTsih, LoginItt, options.Cid, cmdSN, _expStatSN, false, false, csg, nsg, ReadOnlyMemory<byte>.Empty);
                    continue;
                }

                var responseCsg = (LoginStage)((flags >> 2) & 0x03);
                if (responseCsg != csg)
                {
                    throw new IscsiProtocolException($"Login Response CSG {responseCsg} differs from request CSG {csg}.");
                }

                if (targetTransit && !transit)
                {
                    throw new IscsiProtocolException("Target set T without the initiator asking for a transit.");
                }

                if (targetTransit && (LoginStage)(flags & 0x03) != nsg)
                {
                    throw new IscsiProtocolException($"Target transited to stage {flags & 0x03}, not {nsg}.");
                }

                return (targetTransit, received);
            }
        }

        private static bool IsDeclarative(string key) => key is "TargetAlias" or "TargetPortalGroupTag" or "TargetAddress"
            or "MaxRecvDataSegmentLength" or "TargetName";

        private string AnswerTargetOffer(string key, string value) => key switch
        {
            "InitialR2T" => YesNo(options.InitialR2T | ParseBool(key, value)),
            "ImmediateData" => YesNo(options.ImmediateData & ParseBool(key, value)),
            "DataPDUInOrder" or "DataSequenceInOrder" => YesNo(true | ParseBool(key, value)),
            "MaxBurstLength" => Number(Math.Min(options.MaxBurstLength, ParseNumber(key, value))),
            "FirstBurstLength" => Number(Math.Min(options.FirstBurstLength, ParseNumber(key, value))),
            "MaxOutstandingR2T" => Number(Math.Min(options.MaxOutstandingR2T, ParseNumber(key, value))),
            "MaxConnections" => "1",
            "ErrorRecoveryLevel" => "0",
            "DefaultTime2Wait" => Number(Math.Max(options.DefaultTime2Wait, ParseNumber(key, value))),
            "DefaultTime2Retain" => Number(Math.Min(options.DefaultTime2Retain, ParseNumber(key, value))),
            "HeaderDigest" or "DataDigest" => value.Split(',').Contains("None") ? "None" : "Reject",
            _ => "NotUnderstood",
        };

        private static bool ResolveDigest(Dictionary<string, string> answers, string key, IReadOnlyList<DigestKind> offered)
        {
            if (!answers.TryGetValue(key, out var value) || value is "Irrelevant" or "NotUnderstood")
            {
                return false;
            }

            var chosen = value switch
            {
                "None" => DigestKind.None,
                "CRC32C" => DigestKind.Crc32C,
                _ => throw new IscsiLoginException($"Target answered {key}={value}."),
            };
            if (!offered.Contains(chosen))
            {
                throw new IscsiLoginException($"Target chose {key}={value}, which was not offered.");
            }

            return chosen == DigestKind.Crc32C;
        }

        private static int NumberOr(Dictionary<string, string> answers, string key, int fallback) =>
            answers.TryGetValue(key, out var value) && value is not ("Irrelevant" or "Reject" or "NotUnderstood")
                ? ParseNumber(key, value)
                : fallback;

        private static bool BoolOr(Dictionary<string, string> answers, string key, bool fallback) =>
            answers.TryGetValue(key, out var value) && value is not ("Irrelevant" or "Reject" or "NotUnderstood")
                ? ParseBool(key, value)
                : fallback;

        private static int ParseNumber(string key, string value) =>
            int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                ? number
                : throw new IscsiLoginException($"Target sent {key}={value}, not a number.");

        private static bool ParseBool(string key, string value) => value switch
        {
            "Yes" => true,
            "No" => false,
            _ => throw new IscsiLoginException($"Target sent {key}={value}, not Yes/No."),
        };

        private static string? Find(List<KeyValuePair<string, string>> keys, string key) =>
            keys.LastOrDefault(k => k.Key == key).Value;

        private static string DigestList(IReadOnlyList<DigestKind> kinds) =>
            string.Join(',', kinds.Select(k => k == DigestKind.Crc32C ? "CRC32C" : "None"));

        private static string YesNo(bool value) => value ? "Yes" : "No";

        private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

        private void CheckRounds(int round)
        {
            if (round >= MaxRounds)
            {
                throw new IscsiLoginException($"Login did not converge in {MaxRounds} rounds.");
            }
        }
    }

    /// <summary>The ISID as 6 big-endian bytes (RFC 7143 §11.12.5).</summary>
    public static byte[] IsidBytes(ulong isid)
    {
        Span<byte> eight = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(eight, isid);
        return eight[2..].ToArray();
    }
}
