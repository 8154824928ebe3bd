//! The price table: every figure the estimates use, per Region, with the AWS pricing page it
//! belongs to and the date it was read. One table, so that a price changes in one place.
//!
//! Where the stored copy of AWS's pricing page states the figure, the source is that page.
//! Several AWS pricing pages render their rate tables in the browser, so their stored copies
//! hold no numbers; those figures are AWS Price List values (the usage type is named), as
//! recorded in public cost models and test fixtures, and the source says so. Read 2026-12-04;
//! prices change: check <https://calculator.aws> before relying on an estimate.

use crate::Error;

/// One price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// US dollars per `unit`.
    pub usd: f64,
    pub unit: &'static str,
    pub source: &'static str,
}

const fn price(usd: f64, unit: &'static str, source: &'static str) -> Price {
    Price { usd, unit, source }
}

/// When the figures were read.
pub const READ: &str = "2026-12-04";

/// The hours in a month, as AWS's monthly estimates count them.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The prices of one Region (on-demand, USD, before tax; free tiers are not subtracted).
#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    pub region: &'static str,
    pub sfn_transition: Price,
    pub lambda_request: Price,
    pub lambda_gb_second_arm: Price,
    pub lambda_gb_second_x86: Price,
    pub fargate_vcpu_hour_x86: Price,
    pub fargate_gb_hour_x86: Price,
    pub fargate_vcpu_hour_arm: Price,
    pub fargate_gb_hour_arm: Price,
    pub rpu_hour: Price,
    pub rms_gb_month: Price,
    pub logs_ingested_gb: Price,
    pub logs_stored_gb_month: Price,
    pub s3_get: Price,
    pub s3_put: Price,
    pub s3_gb_month: Price,
    pub dynamodb_write: Price,
    pub dynamodb_read: Price,
    pub sns_publish: Price,
    pub endpoint_az_hour: Price,
    pub endpoint_gb: Price,
    pub nat_hour: Price,
    pub kms_key_month: Price,
    pub kms_request: Price,
    pub secret_month: Price,
    pub ecr_gb_month: Price,
}

const SFN: &str = "https://aws.amazon.com/step-functions/pricing/ (\"$0.025 per 1,000 state transitions\"; each retry is charged as an additional state transition)";
const LAMBDA: &str = "https://aws.amazon.com/lambda/pricing/ and AWS's whitepaper How AWS Pricing Works, AWS Lambda (\"$0.20 per 1 million requests\", \"$0.00001667 for every GB-second\")";
const LAMBDA_ARM: &str = "https://aws.amazon.com/lambda/pricing/ (Arm, first tier); AWS Price List value (AWSLambda, Lambda-GB-Second-ARM) as recorded in public cost models: the stored page shows no number";
const FARGATE: &str = "https://aws.amazon.com/fargate/pricing/ (billed per second from the start of the image download, one-minute minimum); AWS Price List values (AmazonECS, USE1-Fargate-vCPU-Hours:perCPU, USE1-Fargate-GB-Hours, and the -ARM- usage types) as recorded in public cost models: the stored page shows no number";
const REDSHIFT: &str = "https://aws.amazon.com/redshift/pricing/ and https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing.html (RPU-hours per second, 60-second minimum, nothing while idle); AWS Price List value (USE1-Redshift:ServerlessUsage, USE1-RMS:Serverless) as recorded in public cost models";
const LOGS: &str = "https://aws.amazon.com/cloudwatch/pricing/ (\"$0.50 per GB custom log data ingested in Standard log class - US East (Northern Virginia)\", AWS Price List description; storage $0.03 per GB-month)";
const S3: &str = "https://aws.amazon.com/s3/pricing/ (S3 Standard; AWS Price List Requests-Tier1, Requests-Tier2, TimedStorage-ByteHrs as recorded in a public cost model fetched from the Price List Bulk API on 2026-09-29)";
const DYNAMODB: &str = "https://aws.amazon.com/dynamodb/pricing/on-demand/ (on-demand after the November 2024 reduction; AWS Price List WriteRequestUnits, ReadRequestUnits as recorded in a public cost model)";
const SNS: &str = "https://aws.amazon.com/sns/pricing/ ($0.50 per million publishes)";
const PRIVATELINK: &str = "https://aws.amazon.com/privatelink/pricing/ (each interface endpoint billed per hour in each Availability Zone, partial hours as full; $0.01 per GB for the first PB; hourly figure: AWS Price List VpcEndpoint-Hours as recorded in public cost models)";
const NAT: &str = "https://aws.amazon.com/vpc/pricing/ (NAT gateway; AWS Price List NatGateway-Hours as recorded in a public cost model)";
const KMS: &str = "https://aws.amazon.com/kms/pricing/ (\"Each AWS KMS key that you create in KMS costs $1/month\"; $0.03 per 10,000 requests)";
const SECRETS: &str =
    "https://aws.amazon.com/secrets-manager/pricing/ ($0.40 per secret per month)";
const ECR: &str =
    "https://aws.amazon.com/ecr/pricing/ ($0.10 per GB-month of private repository storage)";

impl Prices {
    /// Every price with its name.
    pub fn all(&self) -> Vec<(&'static str, Price)> {
        vec![
            ("sfn_transition", self.sfn_transition),
            ("lambda_request", self.lambda_request),
            ("lambda_gb_second_arm", self.lambda_gb_second_arm),
            ("lambda_gb_second_x86", self.lambda_gb_second_x86),
            ("fargate_vcpu_hour_x86", self.fargate_vcpu_hour_x86),
            ("fargate_gb_hour_x86", self.fargate_gb_hour_x86),
            ("fargate_vcpu_hour_arm", self.fargate_vcpu_hour_arm),
            ("fargate_gb_hour_arm", self.fargate_gb_hour_arm),
            ("rpu_hour", self.rpu_hour),
            ("rms_gb_month", self.rms_gb_month),
            ("logs_ingested_gb", self.logs_ingested_gb),
            ("logs_stored_gb_month", self.logs_stored_gb_month),
            ("s3_get", self.s3_get),
            ("s3_put", self.s3_put),
            ("s3_gb_month", self.s3_gb_month),
            ("dynamodb_write", self.dynamodb_write),
            ("dynamodb_read", self.dynamodb_read),
            ("sns_publish", self.sns_publish),
            ("endpoint_az_hour", self.endpoint_az_hour),
            ("endpoint_gb", self.endpoint_gb),
            ("nat_hour", self.nat_hour),
            ("kms_key_month", self.kms_key_month),
            ("kms_request", self.kms_request),
            ("secret_month", self.secret_month),
            ("ecr_gb_month", self.ecr_gb_month),
        ]
    }
}

/// us-east-1, US East (N. Virginia).
pub const US_EAST_1: Prices = Prices {
    region: "us-east-1",
    sfn_transition: price(0.000025, "state transition", SFN),
    lambda_request: price(0.0000002, "request", LAMBDA),
    lambda_gb_second_arm: price(0.0000133334, "GB-second (Arm)", LAMBDA_ARM),
    lambda_gb_second_x86: price(0.0000166667, "GB-second (x86)", LAMBDA),
    fargate_vcpu_hour_x86: price(0.04048, "vCPU-hour (Linux/x86)", FARGATE),
    fargate_gb_hour_x86: price(0.004445, "GB-hour (Linux/x86)", FARGATE),
    fargate_vcpu_hour_arm: price(0.03238, "vCPU-hour (Linux/Arm)", FARGATE),
    fargate_gb_hour_arm: price(0.00356, "GB-hour (Linux/Arm)", FARGATE),
    rpu_hour: price(0.375, "RPU-hour", REDSHIFT),
    rms_gb_month: price(0.024, "GB-month of managed storage", REDSHIFT),
    logs_ingested_gb: price(0.50, "GB ingested", LOGS),
    logs_stored_gb_month: price(0.03, "GB-month stored", LOGS),
    s3_get: price(0.0000004, "GET request", S3),
    s3_put: price(0.000005, "PUT, COPY, POST or LIST request", S3),
    s3_gb_month: price(0.023, "GB-month (Standard)", S3),
    dynamodb_write: price(0.000000625, "write request unit", DYNAMODB),
    dynamodb_read: price(0.000000125, "read request unit", DYNAMODB),
    sns_publish: price(0.0000005, "publish", SNS),
    endpoint_az_hour: price(0.01, "interface endpoint-hour in one AZ", PRIVATELINK),
    endpoint_gb: price(0.01, "GB through an interface endpoint", PRIVATELINK),
    nat_hour: price(0.045, "NAT gateway-hour", NAT),
    kms_key_month: price(1.0, "key-month", KMS),
    kms_request: price(0.000003, "request", KMS),
    secret_month: price(0.40, "secret-month", SECRETS),
    ecr_gb_month: price(0.10, "GB-month", ECR),
};

/// Every Region the table has.
pub const REGIONS: [&Prices; 1] = [&US_EAST_1];

/// The prices of `region`. The table holds only Regions whose every figure was found in a
/// source (other Regions' Redshift Serverless and Fargate figures were not).
pub fn for_region(region: &str) -> Result<&'static Prices, Error> {
    REGIONS
        .iter()
        .copied()
        .find(|p| p.region == region)
        .ok_or_else(|| Error::UnknownRegion {
            region: region.to_string(),
            known: REGIONS
                .iter()
                .map(|p| p.region)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_found_and_unknown_ones_named() {
        assert_eq!(for_region("us-east-1").unwrap().region, "us-east-1");
        let e = for_region("mars-1").unwrap_err().to_string();
        assert!(e.contains("mars-1") && e.contains("us-east-1"), "{e}");
    }
}
