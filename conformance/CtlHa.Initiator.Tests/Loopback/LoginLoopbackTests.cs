using CtlHa.Initiator.Login;

namespace CtlHa.Initiator.Tests.Loopback;

/// <summary>Login negotiation against the scripted fake target.</summary>
public sealed class LoginLoopbackTests
{
    private const int TestTimeoutMs = 30_000;

    private static InitiatorOptions Options() => new()
    {
        InitiatorName = "iqn.2026-11.org.ctlha.test:login",
        LoginTimeout = TimeSpan.FromSeconds(5),
        LogoutTimeout = TimeSpan.FromMilliseconds(200),
        InitialR2T = false,
        ImmediateData = true,
        MaxBurstLength = 262144,
        FirstBurstLength = 65536,
    };

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Negotiated_values_follow_the_RFC_7143_result_functions()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        await using var target = FakeTarget.Start();
        var accept = target.AcceptLoginAsync(cts.Token, new Dictionary<string, string>
        {
            ["InitialR2T"] = "Yes",
            ["ImmediateData"] = "No",
            ["MaxBurstLength"] = "16384",
            ["FirstBurstLength"] = "8192",
            ["TargetMaxRecvDataSegmentLength"] = "65536",
        });
        await using var session = await IscsiInitiatorSession.ConnectAsync("127.0.0.1", target.Port, FakeTarget.TargetName, Options(), cts.Token);
        await accept;
        var parameters = session.Parameters;
        Assert.True(parameters.InitialR2T);
        Assert.False(parameters.ImmediateData);
        Assert.Equal(16384, parameters.MaxBurstLength);
        Assert.Equal(8192, parameters.FirstBurstLength);
        Assert.Equal(65536, parameters.TargetMaxRecvDataSegmentLength);
        Assert.Equal(1, session.Tsih);

        var keys = target.LoginKeysReceived.Select(k => k.Key).ToList();
        Assert.Equal("InitiatorName", keys[0]);
        Assert.Contains("SessionType", keys);
        Assert.Contains(new KeyValuePair<string, string>("TargetName", FakeTarget.TargetName), target.LoginKeysReceived);
        Assert.Contains(new KeyValuePair<string, string>("AuthMethod", "None"), target.LoginKeysReceived);
        Assert.Contains(new KeyValuePair<string, string>("ErrorRecoveryLevel", "0"), target.LoginKeysReceived);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_key_the_target_offers_first_is_answered()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        await using var target = FakeTarget.Start();
        target.TargetOfferedKeys.Add(new("X-org.ctlha.probe", "1"));
        target.TargetOfferedKeys.Add(new("DefaultTime2Wait", "5"));
        var accept = target.AcceptLoginAsync(cts.Token);
        await using var session = await IscsiInitiatorSession.ConnectAsync("127.0.0.1", target.Port, FakeTarget.TargetName,
            Options() with { DefaultTime2Wait = 2 }, cts.Token);
        await accept;
        Assert.Contains(new KeyValuePair<string, string>("X-org.ctlha.probe", "NotUnderstood"), target.LoginKeysReceived);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_digest_the_initiator_did_not_offer_fails_the_login()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        await using var target = FakeTarget.Start();
        var accept = target.AcceptLoginAsync(cts.Token, new Dictionary<string, string> { ["HeaderDigest"] = "CRC32C" });
        var error = await Assert.ThrowsAsync<IscsiLoginException>(() =>
            IscsiInitiatorSession.ConnectAsync("127.0.0.1", target.Port, FakeTarget.TargetName, Options(), cts.Token));
        Assert.Contains("HeaderDigest=CRC32C", error.Message, StringComparison.Ordinal);
        await accept;
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_login_refused_by_the_target_reports_status_class_and_detail()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        await using var target = FakeTarget.Start();
        target.LoginFailure = (0x02, 0x03);
        var accept = target.AcceptLoginAsync(cts.Token);
        var error = await Assert.ThrowsAsync<IscsiLoginException>(() =>
            IscsiInitiatorSession.ConnectAsync("127.0.0.1", target.Port, FakeTarget.TargetName, Options(), cts.Token));
        await accept;
        Assert.Equal(0x02, error.StatusClass);
        Assert.Equal(0x03, error.StatusDetail);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_target_that_never_answers_the_login_times_out()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var options = Options() with { LoginTimeout = TimeSpan.FromMilliseconds(300) };
        var started = DateTime.UtcNow;
        await Assert.ThrowsAsync<IscsiTimeoutException>(() =>
            IscsiInitiatorSession.ConnectAsync("127.0.0.1", port, FakeTarget.TargetName, options, cts.Token));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_discovery_login_sends_no_target_name()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        await using var target = FakeTarget.Start();
        var accept = target.AcceptLoginAsync(cts.Token);
        var connection = await IscsiConnection.ConnectAsync("127.0.0.1", target.Port, TimeSpan.FromSeconds(5), cts.Token);
        await using (connection)
        {
            await IscsiLogin.LoginAsync(connection, Options(), SessionType.Discovery, null, 0x8000_0000_0001, 0, 1, cts.Token);
            await accept;
        }

        Assert.Contains(new KeyValuePair<string, string>("SessionType", "Discovery"), target.LoginKeysReceived);
        Assert.DoesNotContain(target.LoginKeysReceived, k => k.Key is "TargetName" or "InitialR2T");
    }
}
