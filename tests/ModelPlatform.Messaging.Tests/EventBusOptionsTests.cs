using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;

namespace ModelPlatform.Messaging.Tests;

public class EventBusOptionsTests
{
    [Fact]
    public void LanesBindFromConfigurationAndEachLanesSettingsAreChecked()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EventBus:QueueName"] = "training",
            ["EventBus:Lanes:background:PrefetchCount"] = "2",
            ["EventBus:Lanes:bulk:PrefetchCount"] = "0",
        }).Build();

        var options = configuration.GetSection("EventBus").Get<EventBusOptions>()!;
        var errors = new List<ValidationResult>();
        var valid = Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true);

        Assert.Equal(2, options.Lanes["background"].PrefetchCount);
        Assert.False(valid);
        Assert.Equal(["Lanes:bulk:PrefetchCount"], errors.SelectMany(error => error.MemberNames));
    }
}
