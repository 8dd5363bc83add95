DROP TABLE job_events;
DROP TABLE job_bids;
DROP TABLE jobs;
