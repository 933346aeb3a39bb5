using System.Security.Cryptography;
using System.Text;
using CtlHa.Iscsi.Pdus;

namespace CtlHa.Iscsi.Negotiation;

/// <summary>RFC 7143 §13.21 SessionType.</summary>
public enum SessionType
{
    Normal,
    Discovery,
}

/// <summary>What to answer to one login request (after continuation PDUs are joined).</summary>
/// <param name="Reason">Why the login failed, for the log (null on success).</param>
public readonly record struct LoginStep(
    LoginStatus Status,
    List<KeyValuePair<string, string>> Response,
    bool Transit,
    LoginStage NextStage,
    string? Reason)
{
    public bool Failed => Status != LoginStatus.Success;
}

/// <summary>
/// The text-key side of an iSCSI login (RFC 7143 §6, §12, §13): leading keys, security negotiation with AuthMethod None
/// or CHAP (RFC 1994 with MD5, one-way or mutual), operational negotiation, declarations, and stage transitions.
/// Pure (no I/O) so it is unit-testable; one instance per login.
/// </summary>
public sealed class LoginNegotiator
{
    private const string Yes = "Yes";
    private const string No = "No";
    private const int ChapChallengeLength = 16;

    // Keys that make no sense in a discovery session (RFC 7143 §13: "Irrelevant when SessionType=Discovery").
    private static readonly HashSet<string> DiscoveryIrrelevant = new(StringComparer.Ordinal)
    {
        "MaxConnections", "InitialR2T", "ImmediateData", "MaxBurstLength", "FirstBurstLength",
        "MaxOutstandingR2T", "DataPDUInOrder", "DataSequenceInOrder",
    };

    private readonly IscsiTargetOptions _options;
    private readonly Func<int, byte[]> _random;
    private ChapState _chapState;
    private byte _chapId;
    private byte[]? _chapChallenge;
    private bool _authenticated;
    private bool _authMethodNegotiated;
    private bool _declared;
    private bool _immediateDataAnswered;
    private bool _first = true;
    private LoginStage _stage;

    public LoginNegotiator(IscsiTargetOptions options, Func<int, byte[]>? random = null)
    {
        _options = options;
        _random = random ?? RandomNumberGenerator.GetBytes;
        Parameters = new NegotiatedParameters { TargetMaxRecvDataSegmentLength = options.MaxRecvDataSegmentLength };
    }

    private enum ChapState
    {
        None,
        AwaitAlgorithm,
        AwaitResponse,
        Done,
    }

    public string? InitiatorName { get; private set; }

    public string? InitiatorAlias { get; private set; }

    public SessionType SessionType { get; private set; }

    /// <summary>The target a normal session logs in to.</summary>
    public IscsiTargetDefinition? Target { get; private set; }

    public NegotiatedParameters Parameters { get; }

    /// <summary>True once the exchange reached full feature phase.</summary>
    public bool Complete { get; private set; }

    private bool AuthRequired => _options.Chap is not null;

    public LoginStep Process(LoginStage currentStage, bool transit, LoginStage nextStage, IReadOnlyList<KeyValuePair<string, string>> keys)
    {
        var response = new List<KeyValuePair<string, string>>();
        if (currentStage is not (LoginStage.SecurityNegotiation or LoginStage.LoginOperationalNegotiation))
        {
            return Fail(LoginStatus.InitiatorError, $"invalid CSG {currentStage}");
        }
        if (currentStage < _stage)
        {
            return Fail(LoginStatus.InitiatorError, $"CSG went back from {_stage} to {currentStage}");
        }
        if (transit && (nextStage <= currentStage || nextStage == (LoginStage)2))
        {
            return Fail(LoginStatus.InitiatorError, $"invalid NSG {nextStage} from CSG {currentStage}");
        }
        _stage = currentStage;

        if (_first)
        {
            _first = false;
            LoginStep? leading = ProcessLeadingKeys(keys, response);
            if (leading is { } failed)
            {
                return failed;
            }
        }

        if (currentStage == LoginStage.LoginOperationalNegotiation && AuthRequired && !_authenticated)
        {
            return Fail(LoginStatus.AuthenticationFailure, "authentication required but the initiator skipped security negotiation");
        }

        string? chapName = null;
        byte[]? chapResponse = null;
        string? mutualId = null;
        byte[]? mutualChallenge = null;
        foreach ((string key, string value) in keys)
        {
            switch (key)
            {
                case "InitiatorName" or "TargetName" or "SessionType":
                    break; // leading-only keys, handled above
                case "InitiatorAlias":
                    InitiatorAlias = value;
                    break;
                case "AuthMethod":
                    if (currentStage != LoginStage.SecurityNegotiation)
                    {
                        return Fail(LoginStatus.InitiatorError, "AuthMethod outside security negotiation");
                    }
                    string[] offered = value.Split(',');
                    string wanted = AuthRequired ? "CHAP" : "None";
                    if (!offered.Contains(wanted, StringComparer.Ordinal))
                    {
                        return Fail(LoginStatus.AuthenticationFailure, $"initiator offered AuthMethod={value}, target requires {wanted}");
                    }
                    response.Add(new(key, wanted));
                    _authMethodNegotiated = true;
                    if (AuthRequired)
                    {
                        _chapState = ChapState.AwaitAlgorithm;
                    }
                    else
                    {
                        _authenticated = true;
                    }
                    break;
                case "CHAP_A":
                    if (_chapState != ChapState.AwaitAlgorithm)
                    {
                        return Fail(LoginStatus.InitiatorError, "CHAP_A out of sequence");
                    }
                    if (!value.Split(',').Contains("5", StringComparer.Ordinal))
                    {
                        return Fail(LoginStatus.AuthenticationFailure, $"no supported CHAP algorithm in CHAP_A={value} (need 5, MD5)");
                    }
                    _chapId = _random(1)[0];
                    _chapChallenge = _random(ChapChallengeLength);
                    response.Add(new("CHAP_A", "5"));
                    response.Add(new("CHAP_I", _chapId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    response.Add(new("CHAP_C", TextParameters.FormatBinary(_chapChallenge)));
                    _chapState = ChapState.AwaitResponse;
                    break;
                case "CHAP_N":
                    chapName = value;
                    break;
                case "CHAP_R":
                    chapResponse = TextParameters.ParseBinary(value);
                    if (chapResponse is null)
                    {
                        return Fail(LoginStatus.AuthenticationFailure, "malformed CHAP_R");
                    }
                    break;
                case "CHAP_I":
                    mutualId = value;
                    break;
                case "CHAP_C":
                    mutualChallenge = TextParameters.ParseBinary(value);
                    if (mutualChallenge is null)
                    {
                        return Fail(LoginStatus.AuthenticationFailure, "malformed CHAP_C");
                    }
                    break;
                default:
                    string? answer = NegotiateOperational(key, value);
                    if (answer is not null)
                    {
                        response.Add(new(key, answer));
                    }
                    break;
            }
        }

        if (chapName is not null || chapResponse is not null)
        {
            LoginStep? chapFailure = VerifyChap(chapName, chapResponse, mutualId, mutualChallenge, response);
            if (chapFailure is { } failed)
            {
                return failed;
            }
        }
        else if (mutualId is not null || mutualChallenge is not null)
        {
            return Fail(LoginStatus.AuthenticationFailure, "CHAP_I/CHAP_C without CHAP_N/CHAP_R");
        }

        if (!AuthRequired && currentStage == LoginStage.SecurityNegotiation && !_authMethodNegotiated && transit)
        {
            _authenticated = true; // AuthMethod defaults to None (RFC 7143 §12.1)
        }

        bool transitNow = false;
        if (transit)
        {
            transitNow = currentStage != LoginStage.SecurityNegotiation || _authenticated;
            if (currentStage == LoginStage.SecurityNegotiation && AuthRequired && _chapState != ChapState.Done)
            {
                transitNow = false;
            }
        }

        if (!_declared && (currentStage == LoginStage.LoginOperationalNegotiation || (transitNow && nextStage != LoginStage.SecurityNegotiation)))
        {
            // Declarative keys (RFC 7143 §13.12, §13.6), sent once.
            _declared = true;
            AddOrReplace(response, "MaxRecvDataSegmentLength", _options.MaxRecvDataSegmentLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (SessionType == SessionType.Normal && Target?.Alias is { } alias)
            {
                response.Add(new("TargetAlias", alias));
            }
            if (SessionType == SessionType.Normal && !_options.ImmediateData && !_immediateDataAnswered)
            {
                // The initiator did not offer it (default Yes): we offer No, which decides an AND key (§6.2.1).
                _immediateDataAnswered = true;
                Parameters.ImmediateData = false;
                AddOrReplace(response, "ImmediateData", No);
            }
        }

        if (transitNow && nextStage == LoginStage.FullFeaturePhase)
        {
            if (Parameters.FirstBurstLength > Parameters.MaxBurstLength)
            {
                Parameters.FirstBurstLength = Parameters.MaxBurstLength;
            }
            Complete = true;
        }
        return new LoginStep(LoginStatus.Success, response, transitNow, transitNow ? nextStage : currentStage, null);
    }

    private LoginStep? ProcessLeadingKeys(IReadOnlyList<KeyValuePair<string, string>> keys, List<KeyValuePair<string, string>> response)
    {
        string? targetName = null;
        string? sessionType = null;
        foreach ((string key, string value) in keys)
        {
            switch (key)
            {
                case "InitiatorName":
                    InitiatorName = value;
                    break;
                case "TargetName":
                    targetName = value;
                    break;
                case "SessionType":
                    sessionType = value;
                    break;
            }
        }
        if (string.IsNullOrEmpty(InitiatorName))
        {
            return Fail(LoginStatus.MissingParameter, "leading login without InitiatorName");
        }
        switch (sessionType)
        {
            case null or "Normal":
                SessionType = SessionType.Normal;
                break;
            case "Discovery":
                SessionType = SessionType.Discovery;
                break;
            default:
                return Fail(LoginStatus.SessionTypeNotSupported, $"SessionType={sessionType}");
        }
        if (SessionType == SessionType.Normal)
        {
            if (string.IsNullOrEmpty(targetName))
            {
                return Fail(LoginStatus.MissingParameter, "normal session login without TargetName");
            }
            Target = _options.Targets.FirstOrDefault(t => string.Equals(t.Name, targetName, StringComparison.OrdinalIgnoreCase));
            if (Target is null)
            {
                return Fail(LoginStatus.NotFound, $"no target named {targetName}");
            }
            // RFC 7143 §13.9: the target reports its portal group tag in the first login response of a normal session.
            response.Add(new("TargetPortalGroupTag", _options.TargetPortGroupTag.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return null;
    }

    private LoginStep? VerifyChap(string? name, byte[]? received, string? mutualId, byte[]? mutualChallenge, List<KeyValuePair<string, string>> response)
    {
        ChapOptions? chap = _options.Chap;
        if (chap is null || _chapState != ChapState.AwaitResponse || _chapChallenge is null)
        {
            return Fail(LoginStatus.InitiatorError, "CHAP_N/CHAP_R out of sequence");
        }
        if (name is null || received is null)
        {
            return Fail(LoginStatus.AuthenticationFailure, "CHAP_N and CHAP_R must come together");
        }
        if (!string.Equals(name, chap.Username, StringComparison.Ordinal))
        {
            return Fail(LoginStatus.AuthenticationFailure, $"unknown CHAP_N {name}");
        }
        byte[] expected = ChapResponse(_chapId, chap.Secret, _chapChallenge);
        if (!CryptographicOperations.FixedTimeEquals(expected, received))
        {
            return Fail(LoginStatus.AuthenticationFailure, $"CHAP_R mismatch for {name}");
        }
        if (mutualId is not null || mutualChallenge is not null)
        {
            if (mutualId is null || mutualChallenge is null)
            {
                return Fail(LoginStatus.AuthenticationFailure, "mutual CHAP needs both CHAP_I and CHAP_C");
            }
            if (chap.MutualUsername is null || chap.MutualSecret is null)
            {
                return Fail(LoginStatus.AuthenticationFailure, "initiator asked for mutual CHAP, none configured");
            }
            if (!TextParameters.TryParseNumber(mutualId, out ulong id) || id > 255)
            {
                return Fail(LoginStatus.AuthenticationFailure, $"invalid CHAP_I {mutualId}");
            }
            if (mutualChallenge.AsSpan().SequenceEqual(_chapChallenge))
            {
                // RFC 7143 §12.1.3: a reflected challenge is an attack.
                return Fail(LoginStatus.AuthenticationFailure, "initiator reflected the target's CHAP challenge");
            }
            response.Add(new("CHAP_N", chap.MutualUsername));
            response.Add(new("CHAP_R", TextParameters.FormatBinary(ChapResponse((byte)id, chap.MutualSecret, mutualChallenge))));
        }
        _chapState = ChapState.Done;
        _authenticated = true;
        return null;
    }

    /// <summary>RFC 1994 §4.1: MD5(Identifier || secret || Challenge).</summary>
    public static byte[] ChapResponse(byte id, string secret, ReadOnlySpan<byte> challenge)
    {
        byte[] secretBytes = Encoding.UTF8.GetBytes(secret);
        byte[] input = new byte[1 + secretBytes.Length + challenge.Length];
        input[0] = id;
        secretBytes.CopyTo(input, 1);
        challenge.CopyTo(input.AsSpan(1 + secretBytes.Length));
#pragma warning disable CA5351 // RFC 7143 §12.1.3 mandates CHAP with MD5 (algorithm 5).
        return MD5.HashData(input);
#pragma warning restore CA5351
    }

    private string? NegotiateOperational(string key, string value)
    {
        if (SessionType == SessionType.Discovery && DiscoveryIrrelevant.Contains(key))
        {
            return TextParameters.Irrelevant;
        }
        switch (key)
        {
            case "HeaderDigest" or "DataDigest":
            {
                string? chosen = value.Split(',').FirstOrDefault(v => v is "CRC32C" or "None");
                if (chosen is null)
                {
                    return TextParameters.Reject;
                }
                if (key == "HeaderDigest")
                {
                    Parameters.HeaderDigest = chosen == "CRC32C";
                }
                else
                {
                    Parameters.DataDigest = chosen == "CRC32C";
                }
                return chosen;
            }
            case "MaxRecvDataSegmentLength":
                if (!TryRange(value, 512, 16777215, out int mrdsl))
                {
                    return TextParameters.Reject;
                }
                Parameters.InitiatorMaxRecvDataSegmentLength = mrdsl;
                return null; // declarative: we declare ours separately
            case "MaxBurstLength":
                if (!TryRange(value, 512, 16777215, out int maxBurst))
                {
                    return TextParameters.Reject;
                }
                Parameters.MaxBurstLength = Math.Min(maxBurst, _options.MaxBurstLength);
                return Format(Parameters.MaxBurstLength);
            case "FirstBurstLength":
                if (!TryRange(value, 512, 16777215, out int firstBurst))
                {
                    return TextParameters.Reject;
                }
                Parameters.FirstBurstLength = Math.Min(firstBurst, _options.FirstBurstLength);
                return Format(Parameters.FirstBurstLength);
            case "MaxOutstandingR2T":
                if (!TryRange(value, 1, 65535, out int r2t))
                {
                    return TextParameters.Reject;
                }
                Parameters.MaxOutstandingR2T = Math.Min(r2t, _options.MaxOutstandingR2T);
                return Format(Parameters.MaxOutstandingR2T);
            case "ImmediateData":
                // AND: we say Yes unless configured not to.
                _immediateDataAnswered = true;
                return Boolean(value, b => Parameters.ImmediateData = b, v => v && _options.ImmediateData);
            case "InitialR2T":
                // OR: we say No.
                return Boolean(value, b => Parameters.InitialR2T = b, v => v);
            case "DataPDUInOrder":
                // OR: we say Yes, so the result is Yes.
                return Boolean(value, b => Parameters.DataPduInOrder = true, _ => true);
            case "DataSequenceInOrder":
                return Boolean(value, b => Parameters.DataSequenceInOrder = true, _ => true);
            case "DefaultTime2Wait":
                if (!TryRange(value, 0, 3600, out int wait))
                {
                    return TextParameters.Reject;
                }
                Parameters.DefaultTime2Wait = wait; // max(initiator, 0)
                return Format(wait);
            case "DefaultTime2Retain":
                if (!TryRange(value, 0, 3600, out _))
                {
                    return TextParameters.Reject;
                }
                Parameters.DefaultTime2Retain = 0; // min(initiator, 0): ERL 0 keeps nothing
                return Format(0);
            case "ErrorRecoveryLevel":
                if (!TryRange(value, 0, 2, out _))
                {
                    return TextParameters.Reject;
                }
                Parameters.ErrorRecoveryLevel = 0;
                return Format(0);
            case "MaxConnections":
                if (!TryRange(value, 1, 65535, out _))
                {
                    return TextParameters.Reject;
                }
                Parameters.MaxConnections = 1;
                return Format(1);
            case "IFMarker" or "OFMarker":
                // RFC 3720 keys kept by older initiators; markers are not supported.
                return No;
            case "IFMarkInt" or "OFMarkInt":
                return TextParameters.Irrelevant;
            case "TargetAlias" or "TargetAddress" or "TargetPortalGroupTag" or "SendTargets":
                // Target-only or full-feature-only keys sent by an initiator during login.
                return TextParameters.Reject;
            default:
                return TextParameters.NotUnderstood;
        }
    }

    private static string Boolean(string value, Action<bool> set, Func<bool, bool> result)
    {
        if (value is not (Yes or No))
        {
            return TextParameters.Reject;
        }
        bool r = result(value == Yes);
        set(r);
        return r ? Yes : No;
    }

    private static bool TryRange(string value, int min, int max, out int result)
    {
        result = 0;
        if (!TextParameters.TryParseNumber(value, out ulong n) || n < (ulong)min || n > (ulong)max)
        {
            return false;
        }
        result = (int)n;
        return true;
    }

    private static string Format(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static void AddOrReplace(List<KeyValuePair<string, string>> list, string key, string value)
    {
        list.RemoveAll(kv => kv.Key == key);
        list.Add(new(key, value));
    }

    private static LoginStep Fail(LoginStatus status, string reason) => new(status, [], false, LoginStage.SecurityNegotiation, reason);
}
