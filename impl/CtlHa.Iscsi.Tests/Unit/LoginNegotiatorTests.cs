using System.Globalization;
using CtlHa.Iscsi.Negotiation;
using CtlHa.Iscsi.Pdus;

namespace CtlHa.Iscsi.Tests.Unit;

/// <summary>Login text negotiation (RFC 7143 §6, §12, §13) without sockets.</summary>
public sealed class LoginNegotiatorTests
{
    private const string Target = "iqn.2026-11.org.ctlha:t";

    private static IscsiTargetOptions Options(ChapOptions? chap = null) => new()
    {
        Targets = [new IscsiTargetDefinition(Target, "alias-t")],
        Chap = chap,
        MaxBurstLength = 1048576,
        FirstBurstLength = 65536,
        MaxOutstandingR2T = 4,
        MaxRecvDataSegmentLength = 262144,
    };

    private static List<KeyValuePair<string, string>> Keys(params (string Key, string Value)[] keys) =>
        keys.Select(k => new KeyValuePair<string, string>(k.Key, k.Value)).ToList();

    private static Dictionary<string, string> AsDictionary(LoginStep step) => step.Response.ToDictionary(k => k.Key, k => k.Value);

    private static readonly (string, string)[] Leading = [("InitiatorName", "iqn.i"), ("TargetName", Target), ("SessionType", "Normal")];

    [Fact]
    public void Operational_keys_follow_the_RFC_result_functions()
    {
        var negotiator = new LoginNegotiator(Options());
        LoginStep step = negotiator.Process(LoginStage.LoginOperationalNegotiation, true, LoginStage.FullFeaturePhase, Keys([.. Leading,
            ("HeaderDigest", "None,CRC32C"), ("DataDigest", "CRC32C"), ("MaxRecvDataSegmentLength", "65536"),
            ("MaxBurstLength", "16776192"), ("FirstBurstLength", "262144"), ("ImmediateData", "Yes"), ("InitialR2T", "No"),
            ("MaxOutstandingR2T", "8"), ("DataPDUInOrder", "No"), ("DataSequenceInOrder", "Yes"), ("DefaultTime2Wait", "2"),
            ("DefaultTime2Retain", "20"), ("ErrorRecoveryLevel", "2"), ("MaxConnections", "8"), ("IFMarker", "No"),
            ("X-com.example.Foo", "1"), ("UnheardOf", "x")]));
        Assert.False(step.Failed);
        Assert.True(step.Transit);
        Assert.Equal(LoginStage.FullFeaturePhase, step.NextStage);
        Dictionary<string, string> r = AsDictionary(step);
        Assert.Equal("None", r["HeaderDigest"]);
        Assert.Equal("CRC32C", r["DataDigest"]);
        Assert.Equal("1048576", r["MaxBurstLength"]);
        Assert.Equal("65536", r["FirstBurstLength"]);
        Assert.Equal("Yes", r["ImmediateData"]);
        Assert.Equal("No", r["InitialR2T"]);
        Assert.Equal("4", r["MaxOutstandingR2T"]);
        Assert.Equal("Yes", r["DataPDUInOrder"]);
        Assert.Equal("0", r["DefaultTime2Retain"]);
        Assert.Equal("0", r["ErrorRecoveryLevel"]);
        Assert.Equal("1", r["MaxConnections"]);
        Assert.Equal("No", r["IFMarker"]);
        Assert.Equal(TextParameters.NotUnderstood, r["X-com.example.Foo"]);
        Assert.Equal(TextParameters.NotUnderstood, r["UnheardOf"]);
        Assert.Equal("262144", r["MaxRecvDataSegmentLength"]); // our declaration
        Assert.Equal("1", r["TargetPortalGroupTag"]);
        Assert.Equal("alias-t", r["TargetAlias"]);
        Assert.Equal(65536, negotiator.Parameters.InitiatorMaxRecvDataSegmentLength);
        Assert.True(negotiator.Parameters.DataDigest);
        Assert.False(negotiator.Parameters.HeaderDigest);
        Assert.True(negotiator.Complete);
    }

    [Theory]
    [InlineData("Yes")]
    [InlineData("No")]
    [InlineData(null)]
    public void A_target_configured_without_immediate_data_always_ends_with_ImmediateData_No(string? offered)
    {
        var negotiator = new LoginNegotiator(new IscsiTargetOptions { Targets = [new IscsiTargetDefinition(Target, null)], ImmediateData = false });
        (string, string)[] keys = offered is null ? Leading : [.. Leading, ("ImmediateData", offered)];
        LoginStep step = negotiator.Process(LoginStage.LoginOperationalNegotiation, true, LoginStage.FullFeaturePhase, Keys(keys));
        Assert.False(step.Failed);
        Assert.Equal("No", AsDictionary(step)["ImmediateData"]);
        Assert.False(negotiator.Parameters.ImmediateData);
    }

    [Fact]
    public void Bad_values_are_answered_with_Reject()
    {
        var negotiator = new LoginNegotiator(Options());
        LoginStep step = negotiator.Process(LoginStage.LoginOperationalNegotiation, false, 0, Keys([.. Leading,
            ("MaxBurstLength", "12"), ("ImmediateData", "Maybe"), ("HeaderDigest", "MD5")]));
        Dictionary<string, string> r = AsDictionary(step);
        Assert.Equal(TextParameters.Reject, r["MaxBurstLength"]);
        Assert.Equal(TextParameters.Reject, r["ImmediateData"]);
        Assert.Equal(TextParameters.Reject, r["HeaderDigest"]);
        Assert.False(step.Transit);
    }

    [Fact]
    public void Discovery_sessions_need_no_TargetName_and_call_session_keys_irrelevant()
    {
        var negotiator = new LoginNegotiator(Options());
        LoginStep step = negotiator.Process(LoginStage.LoginOperationalNegotiation, true, LoginStage.FullFeaturePhase,
            Keys(("InitiatorName", "iqn.i"), ("SessionType", "Discovery"), ("MaxBurstLength", "1024"), ("HeaderDigest", "None")));
        Assert.False(step.Failed);
        Assert.Equal(SessionType.Discovery, negotiator.SessionType);
        Assert.Equal(TextParameters.Irrelevant, AsDictionary(step)["MaxBurstLength"]);
        Assert.DoesNotContain("TargetPortalGroupTag", AsDictionary(step).Keys);
    }

    [Theory]
    [InlineData("", LoginStatus.MissingParameter)]
    [InlineData("iqn.unknown", LoginStatus.NotFound)]
    public void Leading_login_problems_map_to_status_classes(string targetName, LoginStatus expected)
    {
        var negotiator = new LoginNegotiator(Options());
        var keys = Keys(("InitiatorName", "iqn.i"));
        if (targetName.Length > 0)
        {
            keys.Add(new("TargetName", targetName));
        }
        Assert.Equal(expected, negotiator.Process(LoginStage.SecurityNegotiation, true, LoginStage.LoginOperationalNegotiation, keys).Status);
        Assert.Equal(LoginStatus.SessionTypeNotSupported, new LoginNegotiator(Options())
            .Process(LoginStage.SecurityNegotiation, false, 0, Keys(("InitiatorName", "i"), ("SessionType", "Weird"))).Status);
    }

    [Fact]
    public void AuthMethod_None_transits_from_security_to_operational()
    {
        var negotiator = new LoginNegotiator(Options());
        LoginStep step = negotiator.Process(LoginStage.SecurityNegotiation, true, LoginStage.LoginOperationalNegotiation,
            Keys([.. Leading, ("AuthMethod", "CHAP,None")]));
        Assert.False(step.Failed);
        Assert.Equal("None", AsDictionary(step)["AuthMethod"]);
        Assert.True(step.Transit);
        Assert.Equal(LoginStage.LoginOperationalNegotiation, step.NextStage);
        step = negotiator.Process(LoginStage.LoginOperationalNegotiation, true, LoginStage.FullFeaturePhase, Keys(("MaxRecvDataSegmentLength", "8192")));
        Assert.True(step.Transit);
        Assert.True(negotiator.Complete);
    }

    [Fact]
    public void Going_back_a_stage_or_a_reserved_NSG_is_an_initiator_error()
    {
        var negotiator = new LoginNegotiator(Options());
        Assert.False(negotiator.Process(LoginStage.LoginOperationalNegotiation, false, 0, Keys(Leading)).Failed);
        Assert.Equal(LoginStatus.InitiatorError, negotiator.Process(LoginStage.SecurityNegotiation, false, 0, Keys()).Status);
        Assert.Equal(LoginStatus.InitiatorError, new LoginNegotiator(Options())
            .Process(LoginStage.SecurityNegotiation, true, (LoginStage)2, Keys(Leading)).Status);
    }

    private static byte[] Challenge(int n) => Enumerable.Range(0, n).Select(i => (byte)(0x40 + i)).ToArray();

    [Fact]
    public void Chap_one_way_authenticates_with_the_right_secret()
    {
        var chap = new ChapOptions("alice", "alice-secret-12");
        var negotiator = new LoginNegotiator(Options(chap), Challenge);
        LoginStep step = negotiator.Process(LoginStage.SecurityNegotiation, false, 0, Keys([.. Leading, ("AuthMethod", "CHAP,None")]));
        Assert.Equal("CHAP", AsDictionary(step)["AuthMethod"]);
        step = negotiator.Process(LoginStage.SecurityNegotiation, false, 0, Keys(("CHAP_A", "7,5")));
        Dictionary<string, string> r = AsDictionary(step);
        Assert.Equal("5", r["CHAP_A"]);
        byte id = byte.Parse(r["CHAP_I"], CultureInfo.InvariantCulture);
        byte[] challenge = TextParameters.ParseBinary(r["CHAP_C"])!;
        byte[] answer = LoginNegotiator.ChapResponse(id, chap.Secret, challenge);
        step = negotiator.Process(LoginStage.SecurityNegotiation, true, LoginStage.LoginOperationalNegotiation,
            Keys(("CHAP_N", "alice"), ("CHAP_R", TextParameters.FormatBinary(answer))));
        Assert.False(step.Failed, step.Reason);
        Assert.True(step.Transit);
    }

    [Fact]
    public void Chap_with_a_wrong_secret_or_a_skipped_security_stage_fails_authentication()
    {
        var chap = new ChapOptions("alice", "alice-secret-12");
        var negotiator = new LoginNegotiator(Options(chap), Challenge);
        negotiator.Process(LoginStage.SecurityNegotiation, false, 0, Keys([.. Leading, ("AuthMethod", "CHAP")]));
        Dictionary<string, string> r = AsDictionary(negotiator.Process(LoginStage.SecurityNegotiation, false, 0, Keys(("CHAP_A", "5"))));
        byte[] wrong = LoginNegotiator.ChapResponse(byte.Parse(r["CHAP_I"], CultureInfo.InvariantCulture), "not-the-secret", TextParameters.ParseBinary(r["CHAP_C"])!);
        LoginStep step = negotiator.Process(LoginStage.SecurityNegotiation, true, LoginStage.LoginOperationalNegotiation,
            Keys(("CHAP_N", "alice"), ("CHAP_R", TextParameters.FormatBinary(wrong))));
        Assert.Equal(LoginStatus.AuthenticationFailure, step.Status);

        Assert.Equal(LoginStatus.AuthenticationFailure, new LoginNegotiator(Options(chap))
            .Process(LoginStage.LoginOperationalNegotiation, true, LoginStage.FullFeaturePhase, Keys(Leading)).Status);
        Assert.Equal(LoginStatus.AuthenticationFailure, new LoginNegotiator(Options(chap))
            .Process(LoginStage.SecurityNegotiation, false, 0, Keys([.. Leading, ("AuthMethod", "None")])).Status);
    }

    [Fact]
    public void Mutual_chap_answers_the_initiator_challenge_and_refuses_a_reflected_one()
    {
        var chap = new ChapOptions("alice", "alice-secret-12", "target-t", "target-secret-34");
        var negotiator = new LoginNegotiator(Options(chap), Challenge);
        negotiator.Process(LoginStage.SecurityNegotiation, false, 0, Keys([.. Leading, ("AuthMethod", "CHAP")]));
        Dictionary<string, string> r = AsDictionary(negotiator.Process(LoginStage.SecurityNegotiation, false, 0, Keys(("CHAP_A", "5"))));
        byte id = byte.Parse(r["CHAP_I"], CultureInfo.InvariantCulture);
        byte[] challenge = TextParameters.ParseBinary(r["CHAP_C"])!;
        byte[] answer = LoginNegotiator.ChapResponse(id, chap.Secret, challenge);
        byte[] myChallenge = Enumerable.Range(0, 16).Select(i => (byte)(0x90 + i)).ToArray();
        LoginStep step = negotiator.Process(LoginStage.SecurityNegotiation, true, LoginStage.LoginOperationalNegotiation,
            Keys(("CHAP_N", "alice"), ("CHAP_R", TextParameters.FormatBinary(answer)), ("CHAP_I", "77"), ("CHAP_C", TextParameters.FormatBinary(myChallenge))));
        Assert.False(step.Failed, step.Reason);
        Dictionary<string, string> mutual = AsDictionary(step);
        Assert.Equal("target-t", mutual["CHAP_N"]);
        Assert.Equal(LoginNegotiator.ChapResponse(77, "target-secret-34", myChallenge), TextParameters.ParseBinary(mutual["CHAP_R"]));

        var reflected = new LoginNegotiator(Options(chap), Challenge);
        reflected.Process(LoginStage.SecurityNegotiation, false, 0, Keys([.. Leading, ("AuthMethod", "CHAP")]));
        r = AsDictionary(reflected.Process(LoginStage.SecurityNegotiation, false, 0, Keys(("CHAP_A", "5"))));
        answer = LoginNegotiator.ChapResponse(byte.Parse(r["CHAP_I"], CultureInfo.InvariantCulture), chap.Secret, TextParameters.ParseBinary(r["CHAP_C"])!);
        step = reflected.Process(LoginStage.SecurityNegotiation, true, LoginStage.LoginOperationalNegotiation,
            Keys(("CHAP_N", "alice"), ("CHAP_R", TextParameters.FormatBinary(answer)), ("CHAP_I", "1"), ("CHAP_C", r["CHAP_C"])));
        Assert.Equal(LoginStatus.AuthenticationFailure, step.Status);
    }

    [Fact]
    public void Text_parameters_round_trip_and_reject_pairs_without_equals()
    {
        byte[] encoded = TextParameters.Encode(Keys(("A", "1"), ("B", "x=y"), ("C", "")));
        Assert.Equal("A=1\0B=x=y\0C=\0", System.Text.Encoding.UTF8.GetString(encoded));
        List<KeyValuePair<string, string>> parsed = TextParameters.Parse(encoded);
        Assert.Equal(Keys(("A", "1"), ("B", "x=y"), ("C", "")), parsed);
        Assert.Throws<IscsiProtocolException>(() => TextParameters.Parse("novalue\0"u8));
        Assert.True(TextParameters.TryParseNumber("0x10", out ulong n) && n == 16);
        Assert.Equal(new byte[] { 1, 2 }, TextParameters.ParseBinary("0b" + Convert.ToBase64String([1, 2])));
    }
}
