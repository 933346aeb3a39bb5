namespace CtlHa.Iscsi.Tests.Loopback;

/// <summary>Loopback tests run serially (2 shared cores; real initiators spawn processes).</summary>
[CollectionDefinition("loopback", DisableParallelization = true)]
public sealed class LoopbackCollection
{
}
